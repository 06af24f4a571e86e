//! Any UTF-8 as a SCIM filter: parsing never panics, whatever parses prints canonically and
//! parses back to the same tree, and evaluating it against a user never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_scim::filter::eval::{matches_element, matches_resource, validate};
use roster_scim::schema::{ResourceType, Schemas};
use roster_scim::{AttrPath, parse_filter};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = parse_filter(input) else {
        return;
    };
    let printed = filter.to_string();
    match parse_filter(&printed) {
        Ok(again) => assert_eq!(again, filter, "{input:?} printed as {printed:?}"),
        Err(e) => panic!(
            "{input:?} printed as {printed:?}, which fails: {}",
            e.detail
        ),
    }
    let schemas = Schemas::standard(&[]);
    let resolve = |p: &AttrPath| schemas.resolve(ResourceType::User, p);
    let user = serde_json::json!({
        "userName": "bjensen", "active": true, "name": {"givenName": "Barbara"},
        "emails": [{"value": "b@example.com", "type": "work", "primary": true}, {"value": ""}],
        "meta": {"lastModified": "2011-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"},
        "x": [1, "2", null, {"value": 3.5}]
    });
    let _ = validate(&filter, &resolve);
    let _ = matches_resource(&filter, &user, &resolve);
    let _ = matches_element(&filter, &user["emails"][0], &schemas.user.attributes);
});
