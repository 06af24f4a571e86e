//! A [`Filter`] as a boolean SQL expression over the row `r` of `scim_resources`.
//!
//! Every attribute resolves to a [`Source`] of values (a column, JSON values below a path,
//! membership rows, or a constant), and every comparison becomes "some value of the source
//! satisfies the predicate", with absent meaning "the source has no non-null value". Each
//! fragment is two-valued (never SQL NULL), so `not` negates exactly.

use roster_scim::schema::{AttrType, Attribute, ResourceType, Schemas};
use roster_scim::{AttrPath, CompValue, CompareOp, Filter};

use super::pred::{Leaf, Pred, emit_pred};
use super::{Dialect, Sql, json_path};
use crate::ScimWriteError;

type R = Result<(), ScimWriteError>;

/// Writes `filter` for resources of type `rt`, resolving attributes against `schemas`.
pub(crate) fn push_filter(
    sql: &mut Sql,
    schemas: &Schemas,
    rt: ResourceType,
    filter: &Filter,
) -> R {
    Translator { schemas, rt }.filter(sql, filter, &Scope::Resource)
}

pub(super) fn invalid(message: String) -> ScimWriteError {
    ScimWriteError::InvalidFilter(message)
}

pub(super) fn unknown(rt: ResourceType, path: &impl std::fmt::Display) -> ScimWriteError {
    invalid(format!("{} has no attribute \"{path}\"", rt.name()))
}

/// Where the filter is being evaluated.
enum Scope<'a> {
    Resource,
    /// Inside `attr[…]` of a JSON attribute: `obj` is the element object (SQL, no parameters).
    Element {
        obj: String,
        attr: &'a str,
        subs: &'a [Attribute],
    },
    /// Inside `members[…]` or `groups[…]`: the membership row `m` joined to the resource `j`
    /// at its other end.
    Relation {
        rel: Relation,
        m: String,
        j: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relation {
    /// A group's `members`: rows where the group is `r`.
    Members,
    /// A user's `groups`: rows where the member is `r`.
    Groups,
}

/// The values an attribute path reaches in one resource.
#[derive(Debug, Clone)]
pub(super) enum Source {
    /// A column (or an expression over columns, without parameters).
    Column { expr: String, nullable: bool },
    /// JSON values at `keys` below `ctx`; `split` is the index in `keys` after which a
    /// multi-valued attribute's elements are entered (SQLite needs a second `json_each`).
    Json {
        ctx: String,
        keys: Vec<&'static str>,
        split: Option<usize>,
    },
    /// Membership rows; `sub` is the compared sub-attribute (`None` for `members pr`).
    Relation {
        rel: Relation,
        sub: Option<&'static str>,
    },
    /// A value the store knows without reading the row.
    Const(Option<&'static str>),
}

/// How values of an attribute compare (from its type and `caseExact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `lowered`: the column already holds the Rust-lowercased text (`name_lower`).
    Text {
        case_exact: bool,
        lowered: bool,
    },
    DateTime {
        case_exact: bool,
    },
    Number,
    Boolean,
    Binary,
}

pub(super) fn kind_of(def: Option<&Attribute>) -> Kind {
    let Some(def) = def else {
        return Kind::Text {
            case_exact: false,
            lowered: false,
        };
    };
    match def.attr_type {
        AttrType::Boolean => Kind::Boolean,
        AttrType::Integer | AttrType::Decimal => Kind::Number,
        AttrType::Binary => Kind::Binary,
        AttrType::DateTime => Kind::DateTime {
            case_exact: def.case_exact,
        },
        AttrType::String | AttrType::Reference | AttrType::Complex => Kind::Text {
            case_exact: def.case_exact,
            lowered: false,
        },
    }
}

/// What a path in resource scope names.
pub(super) enum Target {
    Values {
        source: Source,
        kind: Kind,
    },
    /// `meta.created` / `meta.lastModified`: an epoch-µs column.
    Micros(&'static str),
    /// `meta.version`.
    Version,
    /// `meta` itself (always present).
    Meta,
}

pub(super) struct Translator<'s> {
    pub schemas: &'s Schemas,
    pub rt: ResourceType,
}

impl<'s> Translator<'s> {
    /// Resolves a path in resource scope. With `compare`, a complex attribute named without a
    /// sub-attribute stands for its `value` sub-attribute (RFC 7644 §3.4.2.2).
    pub fn target(&self, path: &AttrPath, compare: bool) -> Result<Target, ScimWriteError> {
        let resolved = self
            .schemas
            .resolve(self.rt, path)
            .ok_or_else(|| unknown(self.rt, path))?;
        let attr = resolved.attribute;
        let mut sub = resolved.sub_attribute;
        let mut sub_name = sub.map(|s| s.name);
        if compare && sub.is_none() && attr.attr_type == AttrType::Complex {
            sub = attr.sub_attributes.iter().find(|s| s.name == "value");
            sub_name = Some("value");
        }
        let leaf = if sub_name.is_some() { sub } else { Some(attr) };
        let core = resolved.schema == self.rt.core_schema();
        let column = |expr: &str, nullable: bool, kind: Kind| Target::Values {
            source: Source::Column {
                expr: expr.to_string(),
                nullable,
            },
            kind,
        };
        let exact = Kind::Text {
            case_exact: true,
            lowered: false,
        };
        if core {
            match (attr.name, self.rt) {
                ("id", _) => return Ok(column("r.id", false, exact)),
                ("externalId", _) => return Ok(column("r.external_id", true, exact)),
                ("userName", ResourceType::User) | ("displayName", ResourceType::Group) => {
                    let kind = Kind::Text {
                        case_exact: attr.case_exact,
                        lowered: !attr.case_exact,
                    };
                    let expr = if attr.case_exact {
                        "r.name"
                    } else {
                        "r.name_lower"
                    };
                    return Ok(column(expr, false, kind));
                }
                ("meta", _) => {
                    return match sub.map(|s| s.name) {
                        None if sub_name.is_none() => Ok(Target::Meta),
                        // `meta eq …` names meta.value, which no resource has.
                        None => Ok(Target::Values {
                            source: Source::Const(None),
                            kind: exact,
                        }),
                        Some("created") => Ok(Target::Micros("r.created")),
                        Some("lastModified") => Ok(Target::Micros("r.last_modified")),
                        Some("version") => Ok(Target::Version),
                        Some("resourceType") => Ok(Target::Values {
                            source: Source::Const(Some(self.rt.name())),
                            kind: exact,
                        }),
                        Some(other) => Err(invalid(format!(
                            "meta.{other} cannot be used in a filter or sortBy"
                        ))),
                    };
                }
                ("members", ResourceType::Group) | ("groups", ResourceType::User) => {
                    let rel = if self.rt == ResourceType::Group {
                        Relation::Members
                    } else {
                        Relation::Groups
                    };
                    return Ok(Target::Values {
                        source: Source::Relation { rel, sub: sub_name },
                        kind: kind_of(leaf),
                    });
                }
                _ => {}
            }
        }
        let mut keys = Vec::with_capacity(3);
        if self.schemas.is_extension(resolved.schema) {
            keys.push(resolved.schema);
        }
        keys.push(attr.name);
        let split = (attr.multi_valued && sub_name.is_some()).then_some(keys.len());
        keys.extend(sub_name);
        Ok(Target::Values {
            source: Source::Json {
                ctx: "r.doc".into(),
                keys,
                split,
            },
            kind: kind_of(leaf),
        })
    }

    fn filter(&self, sql: &mut Sql, filter: &Filter, scope: &Scope<'_>) -> R {
        match filter {
            Filter::And(a, b) | Filter::Or(a, b) => {
                sql.push("(");
                self.filter(sql, a, scope)?;
                sql.push(if matches!(filter, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                });
                self.filter(sql, b, scope)?;
                sql.push(")");
                Ok(())
            }
            Filter::Not(inner) => {
                sql.push("NOT (");
                self.filter(sql, inner, scope)?;
                sql.push(")");
                Ok(())
            }
            Filter::Present(path) => match self.scoped_target(path, scope, false)? {
                Target::Values { source, .. } => exists(sql, &source, Some(&Pred::Present)),
                Target::Micros(_) | Target::Version | Target::Meta => {
                    sql.push("TRUE");
                    Ok(())
                }
            },
            Filter::Compare(path, op, value) => {
                let target = self.scoped_target(path, scope, true)?;
                compare(sql, target, path, *op, value)
            }
            Filter::ValuePath { attr, filter } => self.value_path(sql, attr, filter, scope),
        }
    }

    fn scoped_target(
        &self,
        path: &AttrPath,
        scope: &Scope<'_>,
        compare: bool,
    ) -> Result<Target, ScimWriteError> {
        match scope {
            Scope::Resource => self.target(path, compare),
            Scope::Element { obj, attr, subs } => {
                let def = (path.urn.is_none() && path.sub_attr.is_none())
                    .then(|| {
                        subs.iter()
                            .find(|s| s.name.eq_ignore_ascii_case(&path.attr))
                    })
                    .flatten()
                    .filter(|d| d.attr_type != AttrType::Complex)
                    .ok_or_else(|| invalid(format!("{attr} has no sub-attribute \"{path}\"")))?;
                Ok(Target::Values {
                    source: Source::Json {
                        ctx: obj.clone(),
                        keys: vec![def.name],
                        split: None,
                    },
                    kind: kind_of(Some(def)),
                })
            }
            Scope::Relation { rel, m, j } => {
                let attr = match rel {
                    Relation::Members => "members",
                    Relation::Groups => "groups",
                };
                let name = (path.urn.is_none() && path.sub_attr.is_none())
                    .then(|| relation_sub(*rel, &path.attr))
                    .flatten()
                    .ok_or_else(|| {
                        invalid(format!(
                            "{attr} has no sub-attribute \"{path}\" to filter on"
                        ))
                    })?;
                let expr = relation_column(*rel, name, m, j);
                Ok(Target::Values {
                    source: Source::Column {
                        expr,
                        nullable: name == "display",
                    },
                    kind: Kind::Text {
                        case_exact: false,
                        lowered: false,
                    },
                })
            }
        }
    }

    fn value_path(&self, sql: &mut Sql, attr: &AttrPath, inner: &Filter, scope: &Scope<'_>) -> R {
        if !matches!(scope, Scope::Resource) || attr.sub_attr.is_some() {
            return Err(invalid(format!(
                "\"{attr}[…]\" is not a filter on a multi-valued or complex attribute"
            )));
        }
        let resolved = self
            .schemas
            .resolve(self.rt, attr)
            .ok_or_else(|| unknown(self.rt, attr))?;
        let def = resolved.attribute;
        if def.attr_type != AttrType::Complex || def.name == "meta" {
            return Err(invalid(format!(
                "\"{attr}[…]\" needs a complex attribute, and {} is not one",
                def.name
            )));
        }
        if let Ok(Target::Values {
            source: Source::Relation { rel, .. },
            ..
        }) = self.target(attr, false)
        {
            let (m, j) = (sql.alias(), sql.alias());
            relation_from(sql, rel, &m, &j);
            sql.push(" AND ");
            self.filter(sql, inner, &Scope::Relation { rel, m, j })?;
            sql.push(")");
            return Ok(());
        }
        let mut keys = Vec::with_capacity(2);
        if self.schemas.is_extension(resolved.schema) {
            keys.push(resolved.schema);
        }
        keys.push(def.name);
        let el = sql.alias();
        let path = json_path(&keys)?;
        let obj = match sql.dialect {
            Dialect::Sqlite => {
                sql.push("EXISTS (SELECT 1 FROM ");
                if def.multi_valued {
                    sql.push("json_each(r.doc, ").text_param(path);
                } else {
                    // The object itself as the only element (json_each would walk its members).
                    sql.push("json_each(json_array(json_extract(r.doc, ")
                        .text_param(path)
                        .push("))");
                }
                sql.push(&format!(") AS {el} WHERE {el}.type = 'object' AND "));
                format!("{el}.value")
            }
            Dialect::Postgres => {
                sql.push("EXISTS (SELECT 1 FROM jsonb_path_query(r.doc, CAST(")
                    .text_param(format!("{path}[*]"))
                    .push(&format!(
                        " AS jsonpath)) AS {el}(v) WHERE jsonb_typeof({el}.v) = 'object' AND "
                    ));
                format!("{el}.v")
            }
        };
        let scope = Scope::Element {
            obj,
            attr: def.name,
            subs: &def.sub_attributes,
        };
        self.filter(sql, inner, &scope)?;
        sql.push(")");
        Ok(())
    }
}

/// The canonical name of a membership sub-attribute the store can filter on.
fn relation_sub(rel: Relation, name: &str) -> Option<&'static str> {
    ["value", "display", "type"]
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(name))
        .filter(|_| matches!(rel, Relation::Members | Relation::Groups))
}

/// The SQL for a membership sub-attribute. `display` is the member's displayName (or its
/// userName); a user's group memberships are all direct.
fn relation_column(rel: Relation, sub: &str, m: &str, j: &str) -> String {
    match (rel, sub) {
        (Relation::Members, "value") => format!("{m}.member_id"),
        (Relation::Members, "type") => format!("{m}.member_type"),
        (Relation::Members, _) => crate::scim_impl::display_sql(j),
        (Relation::Groups, "value") => format!("{m}.group_id"),
        (Relation::Groups, "type") => "'direct'".into(),
        (Relation::Groups, _) => format!("{j}.name"),
    }
}

/// `EXISTS (SELECT 1 FROM scim_members m JOIN scim_resources j … WHERE <r's side>` — the
/// caller continues the WHERE clause and closes the parenthesis.
fn relation_from(sql: &mut Sql, rel: Relation, m: &str, j: &str) {
    let (other, own) = match rel {
        Relation::Members => ("member_id", "group_id"),
        Relation::Groups => ("group_id", "member_id"),
    };
    sql.push(&format!(
        "EXISTS (SELECT 1 FROM scim_members {m} JOIN scim_resources {j} ON {j}.id = {m}.{other} \
         WHERE {m}.{own} = r.id"
    ));
}

/// A comparison: `pred` for every operand except null, which tests absence.
fn compare(sql: &mut Sql, target: Target, path: &AttrPath, op: CompareOp, value: &CompValue) -> R {
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    match target {
        Target::Meta => {
            // `meta` has no value of its own: it is absent for comparisons.
            sql.push(match (op, value) {
                (CompareOp::Eq, CompValue::Null) => "TRUE",
                (CompareOp::Ne, v) if *v != CompValue::Null => "TRUE",
                _ => "FALSE",
            });
            Ok(())
        }
        Target::Micros(column) => super::pred::compare_micros(sql, column, path, op, value),
        Target::Version => super::pred::compare_version(sql, path, op, value),
        Target::Values { source, kind } => {
            if ordering && matches!(kind, Kind::Boolean | Kind::Binary) {
                return Err(invalid(format!(
                    "\"{op}\" cannot compare {path}: it is a {} attribute (use eq or ne)",
                    if kind == Kind::Boolean {
                        "boolean"
                    } else {
                        "binary"
                    }
                )));
            }
            if *value == CompValue::Null {
                return match op {
                    CompareOp::Eq => not_exists(sql, &source),
                    CompareOp::Ne => exists(sql, &source, None),
                    _ => {
                        sql.push("FALSE");
                        Ok(())
                    }
                };
            }
            let pred = Pred::new(kind, op, value);
            if op == CompareOp::Ne {
                sql.push("(");
                not_exists(sql, &source)?;
                sql.push(" OR ");
                exists(sql, &source, Some(&pred))?;
                sql.push(")");
                Ok(())
            } else {
                exists(sql, &source, Some(&pred))
            }
        }
    }
}

/// `TRUE` when some non-null value of `source` satisfies `pred` (any value when `None`).
pub(super) fn exists(sql: &mut Sql, source: &Source, pred: Option<&Pred>) -> R {
    match source {
        Source::Const(value) => {
            let hit = value.is_some_and(|v| pred.is_none_or(|p| p.on_constant(v)));
            sql.push(if hit { "TRUE" } else { "FALSE" });
            Ok(())
        }
        Source::Column { expr, nullable } => {
            sql.push("(");
            if *nullable {
                sql.push(expr).push(" IS NOT NULL AND ");
            }
            match pred {
                Some(p) => emit_pred(sql, &Leaf::Column(expr), p)?,
                None => {
                    sql.push("TRUE");
                }
            }
            sql.push(")");
            Ok(())
        }
        Source::Relation { rel, sub } => {
            let (m, j) = (sql.alias(), sql.alias());
            relation_from(sql, *rel, &m, &j);
            if let Some(sub) = sub {
                let col = relation_column(*rel, sub, &m, &j);
                sql.push(" AND ").push(&col).push(" IS NOT NULL");
                if let Some(p) = pred {
                    sql.push(" AND ");
                    emit_pred(sql, &Leaf::Column(&col), p)?;
                }
            }
            sql.push(")");
            Ok(())
        }
        Source::Json { ctx, keys, split } => {
            let a = sql.alias();
            // Object members only count for `pr` (SQLite walks an object's members when a
            // path ends at one); a comparison needs scalar values or array elements.
            let members_count = matches!(pred, Some(Pred::Present));
            match sql.dialect {
                Dialect::Sqlite => {
                    sql.push("EXISTS (SELECT 1 FROM ");
                    match split {
                        Some(at) => {
                            let e = sql.alias();
                            sql.push(&format!("json_each({ctx}, "))
                                .text_param(json_path(&keys[..*at])?)
                                .push(&format!(
                                    ") AS {e}, json_each(CASE WHEN {e}.type = 'object' \
                                     THEN {e}.value END, "
                                ))
                                .text_param(json_path(&keys[*at..])?);
                        }
                        None => {
                            sql.push(&format!("json_each({ctx}, "))
                                .text_param(json_path(keys)?);
                        }
                    }
                    sql.push(&format!(") AS {a} WHERE {a}.type <> 'null'"));
                    if !members_count {
                        sql.push(&format!(" AND typeof({a}.key) <> 'text'"));
                    }
                }
                Dialect::Postgres => {
                    sql.push(&format!(
                        "EXISTS (SELECT 1 FROM jsonb_path_query({ctx}, CAST("
                    ))
                    .text_param(format!("{}[*]", json_path(keys)?))
                    .push(&format!(
                        " AS jsonpath)) AS {a}(v) WHERE jsonb_typeof({a}.v) <> 'null'"
                    ));
                }
            }
            if let Some(p) = pred {
                sql.push(" AND ");
                emit_pred(sql, &Leaf::Json(&a), p)?;
            }
            sql.push(")");
            Ok(())
        }
    }
}

/// `TRUE` when `source` has no non-null value.
fn not_exists(sql: &mut Sql, source: &Source) -> R {
    if let Source::Column {
        expr,
        nullable: false,
    } = source
    {
        let _ = expr;
        sql.push("FALSE");
        return Ok(());
    }
    sql.push("NOT ");
    exists(sql, source, None)
}
