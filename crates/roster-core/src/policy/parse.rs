//! Reading a policy file: the TOML sections as written, and the checks that turn them into a
//! [`Policy`] or into every problem found, each located by line and column.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use jiff::tz::TimeZone;

use super::{
    Activation, LeaverCutoff, Lifecycle, MissingFromSource, OnLeave, Policy, PolicyError,
    PolicyErrors, Role, Rule, Safety, parse_expiry,
};
use crate::condition::Condition;
use crate::person::STANDARD_ATTRIBUTES;
use crate::state::{Entitlement, Grant, GroupSpacePermission, SPACE_OPERATIONS};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    company: CompanySection,
    #[serde(default)]
    people: PeopleSection,
    #[serde(default)]
    lifecycle: LifecycleSection,
    #[serde(default)]
    safety: SafetySection,
    #[serde(default)]
    roles: Vec<RoleSection>,
    #[serde(default)]
    rules: Vec<RuleSection>,
    #[serde(default)]
    spaces: Vec<SpaceSection>,
    #[serde(default)]
    grants: Vec<GrantSection>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CompanySection {
    name: Option<String>,
    time_zone: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PeopleSection {
    #[serde(default)]
    custom_attributes: Vec<Spanned<String>>,
    /// The departments HR may send; a record naming another is quarantined. Empty: any.
    #[serde(default)]
    departments: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LifecycleSection {
    preprovision_days: Option<Spanned<i64>>,
    activate: Option<Activation>,
    mover_grace_days: Option<Spanned<i64>>,
    leaver: Option<LeaverCutoff>,
    on_leave: Option<OnLeave>,
    missing_from_source: Option<MissingFromSource>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SafetySection {
    max_revoke_share: Option<Spanned<f64>>,
    max_feed_shrink: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSection {
    name: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    includes: Vec<Spanned<String>>,
    #[serde(default)]
    groups: Vec<Spanned<String>>,
    #[serde(default)]
    spaces: BTreeMap<String, Vec<Spanned<String>>>,
    #[serde(default)]
    licences: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSection {
    name: Spanned<String>,
    when: Spanned<String>,
    roles: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpaceSection {
    key: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    groups: BTreeMap<String, Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantSection {
    id: Spanned<String>,
    employee_id: String,
    group: Option<String>,
    space: Option<String>,
    operation: Option<Spanned<String>>,
    licence: Option<String>,
    owner: String,
    reason: String,
    expires: Option<Spanned<String>>,
}

/// Turns byte offsets into 1-based line and column.
struct Locator<'a> {
    text: &'a str,
}

impl Locator<'_> {
    fn at(&self, offset: usize, message: impl Into<String>) -> PolicyError {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
            before[nl + 1..].chars().count()
        }) + 1;
        PolicyError {
            line,
            column,
            message: message.into(),
        }
    }

    fn span<T>(&self, s: &Spanned<T>, message: impl Into<String>) -> PolicyError {
        self.at(s.span().start, message)
    }

    /// Where the content of a TOML string value begins (after its opening quotes).
    fn string_content_start<T>(&self, s: &Spanned<T>) -> usize {
        let start = s.span().start;
        let rest = &self.text[start.min(self.text.len())..];
        if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
            let after = start + 3;
            // TOML trims a newline that immediately follows the opening delimiter.
            if self.text[after..].starts_with("\r\n") {
                after + 2
            } else if self.text[after..].starts_with('\n') {
                after + 1
            } else {
                after
            }
        } else {
            start + 1
        }
    }
}

impl Policy {
    /// Parses and checks a policy; on failure returns every problem found.
    pub fn parse(text: &str) -> Result<Policy, PolicyErrors> {
        let loc = Locator { text };
        let file: PolicyFile = match toml::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                let message = e.message().trim().to_string();
                return Err(PolicyErrors(vec![loc.at(offset, message)]));
            }
        };
        let mut errors = Vec::new();

        let (time_zone, time_zone_name) = match &file.company.time_zone {
            None => (TimeZone::UTC, "UTC".to_string()),
            Some(tz) => match TimeZone::get(tz.get_ref()) {
                Ok(zone) => (zone, tz.get_ref().clone()),
                Err(_) => {
                    errors.push(loc.span(
                        tz,
                        format!(
                            "unknown time zone \"{}\" (use an IANA name such as \"Europe/Paris\")",
                            tz.get_ref()
                        ),
                    ));
                    (TimeZone::UTC, "UTC".to_string())
                }
            },
        };

        let mut custom_attributes = BTreeSet::new();
        for attr in &file.people.custom_attributes {
            let name = attr.get_ref();
            if STANDARD_ATTRIBUTES.contains(&name.as_str()) {
                errors.push(loc.span(
                    attr,
                    format!("custom attribute \"{name}\" clashes with a standard person attribute"),
                ));
            } else if !is_identifier(name) {
                errors.push(loc.span(
                    attr,
                    format!("custom attribute \"{name}\" must be letters, digits and underscores"),
                ));
            } else if !custom_attributes.insert(name.clone()) {
                errors.push(loc.span(attr, format!("duplicate custom attribute \"{name}\"")));
            }
        }

        let days = |v: &Option<Spanned<i64>>,
                    default: u32,
                    what: &str,
                    errors: &mut Vec<PolicyError>| match v {
            None => default,
            Some(d) if (0..=365).contains(d.get_ref()) => *d.get_ref() as u32,
            Some(d) => {
                errors.push(loc.span(
                    d,
                    format!("{what} must be between 0 and 365 days, not {}", d.get_ref()),
                ));
                default
            }
        };
        let lifecycle = Lifecycle {
            preprovision_days: days(
                &file.lifecycle.preprovision_days,
                3,
                "preprovision_days",
                &mut errors,
            ),
            activate: file.lifecycle.activate.unwrap_or(Activation::OnStartDate),
            mover_grace_days: days(
                &file.lifecycle.mover_grace_days,
                7,
                "mover_grace_days",
                &mut errors,
            ),
            leaver: file.lifecycle.leaver.unwrap_or(LeaverCutoff::EndOfDay),
            on_leave: file.lifecycle.on_leave.unwrap_or(OnLeave::Suspend),
            missing_from_source: file
                .lifecycle
                .missing_from_source
                .unwrap_or(MissingFromSource::Leaver),
        };

        let mut departments = BTreeSet::new();
        for d in &file.people.departments {
            let name = d.get_ref().trim();
            if name.is_empty() {
                errors.push(loc.span(d, "a department name cannot be empty".to_string()));
            } else if !departments.insert(name.to_string()) {
                errors.push(loc.span(d, format!("duplicate department \"{name}\"")));
            }
        }
        let max_feed_shrink = match &file.safety.max_feed_shrink {
            None => 0.20,
            Some(s) if *s.get_ref() > 0.0 && *s.get_ref() < 1.0 => *s.get_ref(),
            Some(s) => {
                errors.push(loc.span(
                    s,
                    format!(
                        "max_feed_shrink must be above 0 and below 1 (0.20 means 20 % fewer people), not {}",
                        s.get_ref()
                    ),
                ));
                0.20
            }
        };

        let max_revoke_share = match &file.safety.max_revoke_share {
            None => 0.10,
            Some(s) if *s.get_ref() > 0.0 && *s.get_ref() <= 1.0 => *s.get_ref(),
            Some(s) => {
                errors.push(loc.span(
                    s,
                    format!(
                        "max_revoke_share must be above 0 and at most 1 (0.10 means 10 %), not {}",
                        s.get_ref()
                    ),
                ));
                0.10
            }
        };

        // Roles: names, then includes (with cycle detection), then flattening.
        let mut role_sections: BTreeMap<String, &RoleSection> = BTreeMap::new();
        for role in &file.roles {
            let name = role.name.get_ref();
            if name.trim().is_empty() {
                errors.push(loc.span(&role.name, "role name is empty"));
            } else if role_sections.contains_key(name) {
                errors.push(loc.span(&role.name, format!("duplicate role name \"{name}\"")));
            } else {
                role_sections.insert(name.clone(), role);
            }
        }
        for role in role_sections.values() {
            for inc in &role.includes {
                if !role_sections.contains_key(inc.get_ref()) {
                    errors.push(loc.span(
                        inc,
                        format!(
                            "unknown role \"{}\" in includes of role \"{}\"",
                            inc.get_ref(),
                            role.name.get_ref()
                        ),
                    ));
                }
            }
            for g in &role.groups {
                if g.get_ref().trim().is_empty() {
                    errors.push(loc.span(g, "group name is empty"));
                }
            }
            for l in &role.licences {
                if l.get_ref().trim().is_empty() {
                    errors.push(loc.span(l, "licence product name is empty"));
                }
            }
            for (space, ops) in &role.spaces {
                check_operations(ops, &loc, &mut errors);
                check_read_first(
                    ops,
                    &format!("role \"{}\" on space \"{space}\"", role.name.get_ref()),
                    &loc,
                    &mut errors,
                );
            }
        }
        let cyclic = find_role_cycles(&role_sections);
        for (name, cycle) in &cyclic {
            let role = role_sections[name];
            errors.push(loc.span(
                &role.name,
                format!(
                    "role \"{name}\" includes itself through {}",
                    cycle.join(" → ")
                ),
            ));
        }
        let mut roles = BTreeMap::new();
        for name in role_sections.keys() {
            let mut entitlements = BTreeSet::new();
            let mut seen = BTreeSet::new();
            flatten_role(name, &role_sections, &mut seen, &mut entitlements);
            roles.insert(
                name.clone(),
                Role {
                    name: name.clone(),
                    entitlements,
                },
            );
        }

        // Rules.
        let mut rules = Vec::new();
        let mut rule_names = BTreeSet::new();
        for rule in &file.rules {
            let name = rule.name.get_ref();
            if !rule_names.insert(name.clone()) {
                errors.push(loc.span(&rule.name, format!("duplicate rule name \"{name}\"")));
            }
            for r in &rule.roles {
                if !role_sections.contains_key(r.get_ref()) {
                    errors.push(loc.span(
                        r,
                        format!("unknown role \"{}\" in rule \"{name}\"", r.get_ref()),
                    ));
                }
            }
            if rule.roles.is_empty() {
                errors.push(loc.span(&rule.name, format!("rule \"{name}\" assigns no roles")));
            }
            let base = loc.string_content_start(&rule.when);
            match Condition::parse_with_attributes(rule.when.get_ref()) {
                Ok((condition, attrs)) => {
                    for a in attrs {
                        if !STANDARD_ATTRIBUTES.contains(&a.name.as_str())
                            && !custom_attributes.contains(&a.name)
                        {
                            errors.push(loc.at(base + a.offset, format!(
                                "unknown attribute \"{}\" in rule \"{name}\" (declare custom attributes in [people] custom_attributes)",
                                a.name
                            )));
                        }
                    }
                    rules.push(Rule {
                        name: name.clone(),
                        condition,
                        roles: rule.roles.iter().map(|r| r.get_ref().clone()).collect(),
                    });
                }
                Err(e) => errors.push(loc.at(
                    base + e.offset,
                    format!("bad condition in rule \"{name}\": {}", e.message),
                )),
            }
        }

        // Spaces.
        let mut spaces = BTreeSet::new();
        let mut group_space_permissions = BTreeSet::new();
        for space in &file.spaces {
            let key = space.key.get_ref();
            if key.trim().is_empty() {
                errors.push(loc.span(&space.key, "space key is empty"));
            } else if !spaces.insert(key.clone()) {
                errors.push(loc.span(&space.key, format!("duplicate space \"{key}\"")));
            }
            for (group, ops) in &space.groups {
                check_operations(ops, &loc, &mut errors);
                check_read_first(
                    ops,
                    &format!("group \"{group}\" on space \"{key}\""),
                    &loc,
                    &mut errors,
                );
                for op in ops {
                    group_space_permissions.insert(GroupSpacePermission {
                        group: group.clone(),
                        space: key.clone(),
                        operation: op.get_ref().clone(),
                    });
                }
            }
        }

        // Standing grants (exceptions written into the policy).
        let mut grants = Vec::new();
        let mut grant_ids = BTreeSet::new();
        for g in &file.grants {
            let id = g.id.get_ref();
            if !grant_ids.insert(id.clone()) {
                errors.push(loc.span(&g.id, format!("duplicate grant id \"{id}\"")));
            }
            let entitlement = match (&g.group, &g.space, &g.operation, &g.licence) {
                (Some(group), None, None, None) => Some(Entitlement::group(group)),
                (None, Some(space), Some(op), None) => {
                    check_operations(std::slice::from_ref(op), &loc, &mut errors);
                    Some(Entitlement::space(space, op.get_ref()))
                }
                (None, None, None, Some(product)) => Some(Entitlement::licence(product)),
                _ => {
                    errors.push(loc.span(&g.id, format!("grant \"{id}\" must name exactly one of: group; space and operation; licence")));
                    None
                }
            };
            let expires_at = match &g.expires {
                None => None,
                Some(e) => match parse_expiry(e.get_ref(), &time_zone) {
                    Some(t) => Some(t),
                    None => {
                        errors.push(loc.span(e, format!("grant \"{id}\": expires must be a date (2026-12-31) or a time (2026-12-31T17:00:00Z), not \"{}\"", e.get_ref())));
                        None
                    }
                },
            };
            if let Some(entitlement) = entitlement {
                grants.push(Grant {
                    id: id.clone(),
                    employee_id: g.employee_id.clone(),
                    entitlement,
                    owner: g.owner.clone(),
                    reason: g.reason.clone(),
                    starts_at: None,
                    expires_at,
                });
            }
        }

        if !errors.is_empty() {
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(PolicyErrors(errors));
        }
        Ok(Policy {
            company_name: file.company.name.unwrap_or_else(|| "Company".to_string()),
            time_zone,
            time_zone_name,
            lifecycle,
            safety: Safety {
                max_revoke_share,
                max_feed_shrink,
            },
            custom_attributes,
            departments,
            roles,
            rules,
            group_space_permissions,
            spaces,
            grants,
        })
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_operations(ops: &[Spanned<String>], loc: &Locator<'_>, errors: &mut Vec<PolicyError>) {
    for op in ops {
        if !SPACE_OPERATIONS.contains(&op.get_ref().as_str()) {
            errors.push(loc.span(
                op,
                format!(
                    "unknown space operation \"{}\" (known: {})",
                    op.get_ref(),
                    SPACE_OPERATIONS.join(", ")
                ),
            ));
        }
    }
}

/// Confluence refuses any space permission without read, and removing read removes the rest.
fn check_read_first(
    ops: &[Spanned<String>],
    what: &str,
    loc: &Locator<'_>,
    errors: &mut Vec<PolicyError>,
) {
    if let Some(first) = ops.first()
        && !ops.iter().any(|o| o.get_ref() == crate::state::READ)
    {
        errors.push(loc.span(first, format!("{what} lists operations without \"read\", which every other space permission requires")));
    }
}

fn flatten_role(
    name: &str,
    roles: &BTreeMap<String, &RoleSection>,
    seen: &mut BTreeSet<String>,
    out: &mut BTreeSet<Entitlement>,
) {
    if !seen.insert(name.to_string()) {
        return;
    }
    let Some(role) = roles.get(name) else { return };
    for g in &role.groups {
        out.insert(Entitlement::group(g.get_ref()));
    }
    for l in &role.licences {
        out.insert(Entitlement::licence(l.get_ref()));
    }
    for (space, ops) in &role.spaces {
        for op in ops {
            out.insert(Entitlement::space(space, op.get_ref()));
        }
    }
    for inc in &role.includes {
        flatten_role(inc.get_ref(), roles, seen, out);
    }
}

/// Roles that reach themselves through `includes`, each with the path that closes the cycle.
fn find_role_cycles(roles: &BTreeMap<String, &RoleSection>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for start in roles.keys() {
        // Depth-first search from `start` looking for a path back to it.
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        let mut visited = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            let Some(role) = roles.get(&node) else {
                continue;
            };
            for inc in &role.includes {
                let next = inc.get_ref();
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    out.entry(start.clone()).or_insert(cycle);
                } else if visited.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    out
}
