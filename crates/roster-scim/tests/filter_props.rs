//! Property tests for the filter and path parsers: no input panics them, and the canonical
//! print of any tree parses back to that tree.

use proptest::prelude::*;
use roster_scim::filter::eval::{matches_element, matches_resource};
use roster_scim::schema::{ResourceType, Schemas};
use roster_scim::{AttrPath, CompValue, CompareOp, Filter, PatchPath, parse_filter, parse_path};
use serde_json::json;

const CASES: u32 = 512;

const KEYWORDS: [&str; 17] = [
    "and", "or", "not", "pr", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "true",
    "false", "null", "$ref",
];

/// Attribute names; with `keywords`, also names spelled like keywords, which are legal and
/// which the parser must tell apart by position.
fn name(keywords: bool) -> BoxedStrategy<String> {
    let plain = "[a-zA-Z][a-zA-Z0-9_-]{0,6}".prop_filter("not a keyword", |n| {
        !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(n))
    });
    if keywords {
        prop_oneof![
            8 => plain,
            1 => prop::sample::select(KEYWORDS.to_vec()).prop_map(str::to_string),
            1 => Just("NOT".to_string()),
        ]
        .boxed()
    } else {
        plain.boxed()
    }
}

fn urn() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string())),
        1 => "urn(:[a-zA-Z0-9.-]{1,5}){1,4}".prop_map(Some),
    ]
}

fn attr_path(kw: bool) -> impl Strategy<Value = AttrPath> {
    (urn(), name(kw), prop::option::of(name(kw))).prop_map(|(urn, attr, sub_attr)| AttrPath {
        urn,
        attr,
        sub_attr,
    })
}

fn bare_path(kw: bool) -> impl Strategy<Value = AttrPath> {
    name(kw).prop_map(AttrPath::new)
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::String),
        "[\"\\\\/\\[\\]() a-z\u{0}-\u{1f}\u{7f}\u{2028}😀]{0,8}".prop_map(CompValue::String),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

fn expression(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        path.clone().prop_map(Filter::Present),
        (path, op(), comp_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
    ]
}

/// `and`/`or`/`not` trees over `leaf`.
fn logic(leaf: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    leaf.prop_recursive(5, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Filter::Not(Box::new(a))),
        ]
    })
}

/// What may appear inside `attr[…]`: sub-attribute names only, no nested brackets.
fn value_filter(kw: bool) -> BoxedStrategy<Filter> {
    logic(expression(bare_path(kw).boxed()).boxed()).boxed()
}

fn filter(kw: bool) -> impl Strategy<Value = Filter> {
    let value_path =
        ((urn(), name(kw)), value_filter(kw)).prop_map(|((urn, attr), filter)| Filter::ValuePath {
            attr: AttrPath {
                urn,
                attr,
                sub_attr: None,
            },
            filter: Box::new(filter),
        });
    let leaf = prop_oneof![3 => expression(attr_path(kw).boxed()), 1 => value_path];
    logic(leaf.boxed())
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    prop_oneof![
        attr_path(true).prop_map(|attr| PatchPath {
            attr,
            value_filter: None,
            sub_attr_after_filter: None
        }),
        (
            (urn(), name(true)),
            value_filter(true),
            prop::option::of(name(true))
        )
            .prop_map(|((urn, attr), filter, sub)| PatchPath {
                attr: AttrPath {
                    urn,
                    attr,
                    sub_attr: None
                },
                value_filter: Some(filter),
                sub_attr_after_filter: sub,
            }),
    ]
}

/// Fragments that push random input deep into the grammar instead of failing at column 1.
fn soup() -> impl Strategy<Value = String> {
    let pieces = vec![
        "userName",
        "emails",
        "name.givenName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
        "manager",
        " ",
        " ",
        "  ",
        "eq",
        "ne",
        "co",
        "sw",
        "gt",
        "pr",
        "and",
        "or",
        "not",
        "(",
        ")",
        "[",
        "]",
        ".",
        ":",
        "\"",
        "\"x\"",
        "\"\\u00e9\"",
        "\\",
        "\\ud83d",
        "\\u",
        "1",
        "-",
        "1e5",
        "0.5",
        "true",
        "null",
        "FALSE",
        "$ref",
        "\t",
        "ü",
        "\u{0}",
    ];
    prop::collection::vec(prop::sample::select(pieces), 0..40).prop_map(|v| v.concat())
}

/// A valid filter's print with a few characters deleted, inserted or swapped: inputs that are
/// almost right reach every error path of the parser.
fn mutated() -> impl Strategy<Value = String> {
    let edit = (
        any::<prop::sample::Index>(),
        0..3u8,
        prop::sample::select(vec![
            "(", ")", "[", "]", "\"", "\\", " ", ".", ":", "and", "not (", "pr", "eq", "1e", "-",
            "\\u", "ü",
        ]),
    );
    (filter(true), prop::collection::vec(edit, 1..4)).prop_map(|(f, edits)| {
        let mut chars: Vec<char> = f.to_string().chars().collect();
        for (at, kind, piece) in edits {
            let i = at.index(chars.len() + 1);
            match kind {
                0 if i < chars.len() => {
                    chars.remove(i);
                }
                1 => {
                    chars.splice(i..i, piece.chars());
                }
                _ => chars.truncate(i),
            }
        }
        chars.into_iter().collect()
    })
}

fn check_reprint(input: &str) {
    // Whatever parses prints canonically, and that print is stable.
    if let Ok(f) = parse_filter(input) {
        let printed = f.to_string();
        let again = parse_filter(&printed).unwrap_or_else(|e| panic!("{printed:?}: {}", e.detail));
        assert_eq!(again, f, "{input:?} printed as {printed:?}");
        let doc = json!({"userName": "x", "emails": [{"value": "a", "type": "work"}], "name": {"givenName": "y"}});
        let schemas = Schemas::standard(&[]);
        let resolve = |p: &AttrPath| schemas.resolve(ResourceType::User, p);
        let _ = matches_resource(&f, &doc, &resolve);
        let _ = matches_element(&f, &doc, &schemas.user.attributes);
    }
    if let Ok(p) = parse_path(input) {
        let printed = p.to_string();
        let again = parse_path(&printed).unwrap_or_else(|e| panic!("{printed:?}: {}", e.detail));
        assert_eq!(again, p, "{input:?} printed as {printed:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        check_reprint(&input);
    }

    #[test]
    fn grammar_soup_never_panics(input in soup()) {
        check_reprint(&input);
    }

    #[test]
    fn near_miss_filters_never_panic(input in mutated()) {
        check_reprint(&input);
        // From the attribute before the first `[`: a near-miss PATCH path.
        if let Some(open) = input.find('[') {
            let start = input[..open].rfind(' ').map_or(0, |space| space + 1);
            check_reprint(&input[start..]);
        }
    }

    #[test]
    fn filters_round_trip_through_their_print(f in filter(true)) {
        let printed = f.to_string();
        let parsed = parse_filter(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {}", e.detail)))?;
        prop_assert_eq!(parsed, f, "{}", printed);
    }

    #[test]
    fn patch_paths_round_trip_through_their_print(p in patch_path()) {
        let printed = p.to_string();
        let parsed = parse_path(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {}", e.detail)))?;
        prop_assert_eq!(parsed, p, "{}", printed);
    }

    #[test]
    fn any_case_and_spacing_parses_the_same(f in filter(false), upper in any::<bool>(), ws in "[ \t\n]{1,3}") {
        // Re-spell keywords in upper case and spaces as other whitespace: same tree.
        let printed = f.to_string();
        let respelled = respell(&printed, upper, &ws);
        let parsed = parse_filter(&respelled).map_err(|e| TestCaseError::fail(format!("{respelled:?}: {}", e.detail)))?;
        prop_assert_eq!(parsed, f, "{}", respelled);
    }
}

/// Replaces the single spaces outside strings with `ws` and, with `upper`, upper-cases every
/// keyword-spelled token. Valid only for trees whose attribute names are not keywords.
fn respell(printed: &str, upper: bool, ws: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let flush = |word: &mut String, out: &mut String| {
        if upper && KEYWORDS.contains(&word.as_str()) {
            out.push_str(&word.to_uppercase());
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in printed.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            ' ' => {
                flush(&mut word, &mut out);
                out.push_str(ws);
            }
            c if c.is_ascii_alphanumeric() || "$-_.:".contains(c) => word.push(c),
            c => {
                flush(&mut word, &mut out);
                in_string = c == '"';
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out);
    out
}
