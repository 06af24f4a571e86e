//! The filter and PATCH path grammar: every operator, precedence, URN paths, value paths,
//! string escapes, and where errors point.

use roster_scim::filter::{MAX_FILTER_LEN, MAX_NESTING, MAX_TERMS};
use roster_scim::{
    AttrPath, CompValue, CompareOp, Filter, PatchPath, ScimType, parse_filter, parse_path,
};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn p(attr: &str) -> AttrPath {
    AttrPath::new(attr)
}

fn sub(attr: &str, sub: &str) -> AttrPath {
    AttrPath {
        urn: None,
        attr: attr.into(),
        sub_attr: Some(sub.into()),
    }
}

fn s(v: &str) -> CompValue {
    CompValue::String(v.into())
}

fn eq(attr: &str, v: &str) -> Filter {
    Filter::Compare(p(attr), CompareOp::Eq, s(v))
}

fn pr(attr: &str) -> Filter {
    Filter::Present(p(attr))
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}

fn parse(input: &str) -> Filter {
    parse_filter(input).unwrap_or_else(|e| panic!("{input:?} should parse: {}", e.detail))
}

/// The error detail, after checking it is a 400 invalidFilter.
fn filter_error(input: &str) -> String {
    let err = parse_filter(input).expect_err(input);
    assert_eq!(err.status, 400, "{input:?}");
    assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{input:?}");
    err.detail
}

fn path_error(input: &str) -> String {
    let err = parse_path(input).expect_err(input);
    assert_eq!(err.status, 400, "{input:?}");
    assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{input:?}");
    err.detail
}

#[test]
fn every_comparison_operator_in_any_case() {
    let ops = [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("ew", CompareOp::Ew),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ];
    for (word, op) in ops {
        for spelled in [
            word.to_string(),
            word.to_uppercase(),
            format!("{}{}", &word[..1].to_uppercase(), &word[1..]),
        ] {
            let f = parse(&format!("userName {spelled} \"bjensen\""));
            assert_eq!(
                f,
                Filter::Compare(p("userName"), op, s("bjensen")),
                "{spelled}"
            );
        }
    }
    assert_eq!(parse("title pr"), pr("title"));
    assert_eq!(parse("title PR"), pr("title"));
}

#[test]
fn comparison_values_of_every_json_kind() {
    let cases = [
        ("true", CompValue::Bool(true)),
        ("False", CompValue::Bool(false)),
        ("NULL", CompValue::Null),
        ("42", CompValue::Number(42.into())),
        ("-7", CompValue::Number((-7).into())),
        ("0", CompValue::Number(0.into())),
        (
            "1.5e3",
            CompValue::Number(serde_json::Number::from_f64(1500.0).unwrap()),
        ),
        (
            "-0.25",
            CompValue::Number(serde_json::Number::from_f64(-0.25).unwrap()),
        ),
        ("\"\"", s("")),
    ];
    for (text, value) in cases {
        assert_eq!(
            parse(&format!("x eq {text}")),
            Filter::Compare(p("x"), CompareOp::Eq, value),
            "{text}"
        );
    }
}

#[test]
fn json_string_escapes() {
    let f = parse(r#"displayName eq "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 ]) and""#);
    assert_eq!(f, eq("displayName", "a\"b\\c/d\u{8}\u{c}\n\r\té😀 ]) and"));
    // Raw non-ASCII is fine; raw control characters are not (JSON forbids them).
    assert_eq!(parse("x eq \"Zoë 日本\""), eq("x", "Zoë 日本"));
    assert!(filter_error("x eq \"a\u{1}b\"").contains("U+0001"));
    assert!(filter_error(r#"x eq "\ud83d""#).contains("low surrogate"));
    assert!(filter_error(r#"x eq "\ude00""#).contains("low surrogate must follow"));
    assert!(filter_error(r#"x eq "\q""#).contains("unknown escape"));
    assert!(filter_error(r#"x eq "\u12g4""#).contains("four hex digits"));
}

#[test]
fn precedence_not_over_and_over_or() {
    assert_eq!(
        parse("a pr or b pr and c pr"),
        or(pr("a"), and(pr("b"), pr("c")))
    );
    assert_eq!(
        parse("a pr and b pr or c pr"),
        or(and(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        parse("(a pr or b pr) and c pr"),
        and(or(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(parse("not (a pr) and b pr"), and(not(pr("a")), pr("b")));
    assert_eq!(
        parse("a pr AND b pr Or c pr"),
        or(and(pr("a"), pr("b")), pr("c"))
    );
    // Chains associate to the left.
    assert_eq!(
        parse("a pr or b pr or c pr"),
        or(or(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        parse("a pr and b pr and c pr"),
        and(and(pr("a"), pr("b")), pr("c"))
    );
}

#[test]
fn not_and_parentheses() {
    assert_eq!(parse("not (a pr)"), not(pr("a")));
    assert_eq!(parse("NOT(a pr)"), not(pr("a")));
    assert_eq!(parse("not (not (a pr))"), not(not(pr("a"))));
    assert_eq!(parse("((a pr))"), pr("a"));
    assert_eq!(parse("  ( a pr )  "), pr("a"));
    assert_eq!(parse("a\tpr\nand\r\nb pr"), and(pr("a"), pr("b")));
    // Keywords are also legal attribute names where an attribute is expected.
    assert_eq!(parse("not pr"), pr("not"));
    assert_eq!(parse("and eq \"x\" or or pr"), or(eq("and", "x"), pr("or")));
    assert!(filter_error("not a pr").contains("expected \"(\" after \"not\""));
}

#[test]
fn rfc_7644_examples() {
    let examples = [
        r#"userName Eq "john""#,
        r#"Username eq "john""#,
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ];
    for example in examples {
        let parsed = parse(example);
        // The canonical print parses back to the same tree.
        assert_eq!(parse(&parsed.to_string()), parsed, "{example}");
    }
    assert_eq!(
        parse(r#"name.familyName co "O'Malley""#),
        Filter::Compare(sub("name", "familyName"), CompareOp::Co, s("O'Malley"))
    );
}

#[test]
fn urn_qualified_paths_split_at_the_last_colon() {
    let f = parse(&format!("{ENTERPRISE}:employeeNumber eq \"701984\""));
    let Filter::Compare(path, CompareOp::Eq, _) = f else {
        panic!("{f:?}")
    };
    assert_eq!(path.urn.as_deref(), Some(ENTERPRISE));
    assert_eq!(path.attr, "employeeNumber");
    assert_eq!(path.sub_attr, None);

    let f = parse("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq \"Jensen\"");
    let Filter::Compare(path, ..) = f else {
        panic!()
    };
    assert_eq!(
        path.urn.as_deref(),
        Some("urn:ietf:params:scim:schemas:core:2.0:User")
    );
    assert_eq!(
        (path.attr.as_str(), path.sub_attr.as_deref()),
        ("name", Some("familyName"))
    );

    let f = parse(&format!(
        "{ENTERPRISE}:manager.value eq \"26118915-6090-4610-87e4-49d8ca9f808d\""
    ));
    let Filter::Compare(path, ..) = f else {
        panic!()
    };
    assert_eq!(
        (path.attr.as_str(), path.sub_attr.as_deref()),
        ("manager", Some("value"))
    );
}

#[test]
fn value_paths() {
    let f = parse(r#"emails[type eq "work" and value co "@acme"]"#);
    assert_eq!(
        f,
        Filter::ValuePath {
            attr: p("emails"),
            filter: Box::new(and(
                eq("type", "work"),
                Filter::Compare(p("value"), CompareOp::Co, s("@acme"))
            )),
        }
    );
    let f = parse(r#"emails[not (type eq "work") or (primary eq true)] and userName pr"#);
    let Filter::And(left, _) = f else { panic!() };
    assert!(matches!(*left, Filter::ValuePath { .. }));
    let f = parse(&format!("{ENTERPRISE}:emails[type eq \"x\"]"));
    let Filter::ValuePath { attr, .. } = f else {
        panic!()
    };
    assert_eq!(attr.urn.as_deref(), Some(ENTERPRISE));

    assert!(
        filter_error(r#"emails[type eq "work"].value eq "x""#)
            .contains("only valid in a PATCH path")
    );
    assert!(filter_error(r#"emails[addresses[type pr]]"#).contains("cannot contain another"));
    assert!(filter_error(r#"emails[emails.type eq "x"]"#).contains("sub-attribute alone"));
    assert!(filter_error(r#"name.givenName[x pr]"#).contains("multi-valued attribute"));
    assert!(filter_error(r#"emails[type eq "work""#).contains("expected \"]\""));
}

#[test]
fn error_positions_say_where_and_what() {
    let cases = [
        (
            "",
            1,
            "expected an attribute name, found the end of the input",
        ),
        ("userName", 9, "expected an operator"),
        ("userName eq", 12, "expected a value"),
        ("userName eq bjensen", 13, "found \"bjensen\""),
        ("userName xx \"a\"", 10, "found \"xx\""),
        ("userName eq 'x'", 13, "expected a value"),
        (
            "userName eq \"x\" andd b pr",
            17,
            "expected \"and\", \"or\" or the end",
        ),
        ("(a pr", 6, "expected \")\""),
        ("a pr)", 5, "found ')'"),
        ("a pr and", 9, "expected an attribute name"),
        ("1abc pr", 1, "names start with a letter"),
        ("name.given.x pr", 11, "at most one sub-attribute"),
        ("name. pr", 6, "expected a sub-attribute name"),
        (":x pr", 1, "schema URN"),
        ("x eq \"abc", 6, "not closed"),
        ("x eq 01", 7, "after the value"),
        ("x eq 1.", 8, "digit after"),
        ("x eq 1e", 8, "exponent"),
        ("x eq -", 7, "a digit"),
        ("x eq 1e999", 6, "out of range"),
        ("ünï pr", 1, "expected an attribute name, found 'ü'"),
        ("x eq \"ü\" zz", 10, "found \"zz\""),
    ];
    for (input, column, expected) in cases {
        let detail = filter_error(input);
        assert!(
            detail.contains(&format!("column {column}:")) && detail.contains(expected),
            "{input:?}: {detail}"
        );
    }
}

#[test]
fn hostile_input_is_bounded() {
    let deep = format!("{}a pr{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
    assert_eq!(parse(&deep), pr("a"));
    let too_deep = format!(
        "{}a pr{}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    assert!(filter_error(&too_deep).contains("nest deeper"));
    let nots = format!("{}a pr{}", "not (".repeat(100_000), ")".repeat(100_000));
    assert!(filter_error(&nots[..MAX_FILTER_LEN]).contains("nest deeper"));
    assert!(filter_error(&nots).contains("at most 8192"));

    let chain = vec!["a pr"; MAX_TERMS].join(" or ");
    assert_eq!(parse(&chain).depth(), MAX_TERMS);
    let longer = vec!["a pr"; MAX_TERMS + 1].join(" or ");
    assert!(filter_error(&longer).contains("more than 256"));
    assert!(filter_error(&"[".repeat(5000)).contains("expected an attribute name"));
}

fn path(input: &str) -> PatchPath {
    parse_path(input).unwrap_or_else(|e| panic!("{input:?} should parse: {}", e.detail))
}

#[test]
fn patch_paths() {
    assert_eq!(
        path("displayName"),
        PatchPath {
            attr: p("displayName"),
            value_filter: None,
            sub_attr_after_filter: None
        }
    );
    assert_eq!(path("name.givenName").attr, sub("name", "givenName"));
    let work = path(r#"emails[type eq "work"].value"#);
    assert_eq!(work.attr, p("emails"));
    assert_eq!(work.value_filter, Some(eq("type", "work")));
    assert_eq!(work.sub_attr_after_filter.as_deref(), Some("value"));
    assert_eq!(work.to_string(), r#"emails[type eq "work"].value"#);

    // Entra ID removes a member with a filter on `value`.
    let member = path(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#);
    assert_eq!(
        member.value_filter,
        Some(eq("value", "2819c223-7f76-453a-919d-413861904646"))
    );
    assert_eq!(member.sub_attr_after_filter, None);
    assert_eq!(path(r#"Members[Value EQ "x"]"#).attr, p("Members"));

    let manager = path(&format!("{ENTERPRISE}:manager"));
    assert_eq!(manager.attr.urn.as_deref(), Some(ENTERPRISE));
    assert_eq!(manager.attr.attr, "manager");
    let number = path(&format!("{ENTERPRISE}:employeeNumber"));
    assert_eq!(number.attr.attr, "employeeNumber");
    assert_eq!(
        path(&format!("{ENTERPRISE}:manager.value"))
            .attr
            .sub_attr
            .as_deref(),
        Some("value")
    );
    // A path naming a whole extension reads as attribute `User` of schema `…:2.0`.
    assert_eq!(
        path(ENTERPRISE).attr.as_schema_urn().as_deref(),
        Some(ENTERPRISE)
    );

    let addr = path(r#"addresses[type eq "work" and primary eq true].postalCode"#);
    assert_eq!(addr.sub_attr_after_filter.as_deref(), Some("postalCode"));
    assert_eq!(path(" title ").attr, p("title"));
}

#[test]
fn patch_path_errors() {
    let cases = [
        ("", "column 1: expected an attribute name"),
        ("emails[type eq \"work\"", "column 22: expected \"]\""),
        (
            "emails[type eq \"work\"].",
            "column 24: expected a sub-attribute name",
        ),
        (
            "emails[type eq \"work\"].value.x",
            "column 29: expected the end of the path",
        ),
        ("emails[type eq \"work\"] x", "column 24: expected the end"),
        ("name.givenName[x pr]", "column 15"),
        (
            "emails[type zz \"work\"]",
            "column 13: expected an operator",
        ),
        ("a b", "column 3"),
        ("emails[]", "column 8: expected an attribute name"),
    ];
    for (input, expected) in cases {
        let detail = path_error(input);
        assert!(detail.contains(expected), "{input:?}: {detail}");
    }
    assert!(path_error(&"a".repeat(5000)).contains("at most 2048"));
}
