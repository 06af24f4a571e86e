//! Between Data Center's JSON and Roster's vocabulary: space permission pairs (ref §4.7),
//! user objects (ref §4.3), URL encoding.

use roster_core::TargetError;
use serde_json::Value;

/// Roster's policy operation as a DC `(targetType, operationKey)` pair (ref §4.7).
pub fn dc_pair(operation: &str) -> Result<(String, String), TargetError> {
    let space = |op: &str| Ok(("space".to_string(), op.to_string()));
    match operation {
        "read" | "administer" | "export" | "delete_own" => space(operation),
        "restrict_content" => space("restrict"),
        "archive" => Err(TargetError::Permanent(
            "the space operation \"archive\" has no Confluence Data Center permission \
             (Data Center has no archive permission); remove it from the policy for this system"
                .into(),
        )),
        other => match other.split_once(':') {
            // `create:page` → page/create, and the `operationKey:targetType` text of pairs
            // Roster does not name (`delete_mail:space`), as read_state reports them.
            Some((op, target)) if !op.is_empty() && !target.is_empty() => {
                Ok((target.to_string(), op.to_string()))
            }
            _ => Err(TargetError::Permanent(format!(
                "unknown space operation \"{other}\" for Confluence Data Center"
            ))),
        },
    }
}

/// A DC pair in Roster's vocabulary; pairs without a Roster name stay `operationKey:targetType`.
pub fn roster_operation(target: &str, operation: &str) -> String {
    match (target, operation) {
        ("space", "read" | "administer" | "export" | "delete_own") => operation.to_string(),
        ("space", "restrict") => "restrict_content".to_string(),
        // page/create → create:page, and any other pair as `operationKey:targetType`.
        _ => format!("{operation}:{target}"),
    }
}

/// Percent-encodes a path segment or query value.
pub(super) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn text(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A DC user as read.
pub(super) struct DcUser {
    pub key: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub active: bool,
}

impl DcUser {
    pub(super) fn from_json(v: &Value) -> Self {
        DcUser {
            key: text(v, "userKey"),
            username: text(v, "username"),
            email: text(v, "email"),
            display_name: text(v, "displayName"),
            // `status` appears only when expanded (ref §4.3); its absence means active.
            active: v
                .get("status")
                .and_then(Value::as_str)
                .is_none_or(|s| s.eq_ignore_ascii_case("active")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The user object of ref §4.3, as recorded there (no `status`: not expanded).
    #[test]
    fn decodes_the_reference_user_example() {
        let example = json!({
          "type": "known",
          "username": "ada",
          "userKey": "ff80808151f3008c0152c05ba1a40003",
          "profilePicture": {"path": "/download/attachments/7415957/user-avatar", "width": 48, "height": 48, "isDefault": false},
          "displayName": "Ada Lovelace",
          "_links": {"self": "https://confluence.example.com/rest/api/user?key=ff80808151f3008c0152c05ba1a40003"},
          "_expandable": {"status": ""}
        });
        let user = DcUser::from_json(&example);
        assert_eq!(user.key, "ff80808151f3008c0152c05ba1a40003");
        assert_eq!(user.username, "ada");
        assert_eq!(user.display_name, "Ada Lovelace");
        assert!(user.active, "an unexpanded status means active");
        let mut deactivated = example.clone();
        deactivated["status"] = json!("Deactivated");
        assert!(!DcUser::from_json(&deactivated).active);
    }

    /// The permission list item and the pairs of ref §4.7, both ways.
    #[test]
    fn maps_the_reference_permission_pairs() {
        let item = json!({"operation": {"operationKey": "read", "targetType": "space"},
                          "subject": {"type": "group", "name": "confluence-users"}, "spaceKey": "ENG"});
        let op = &item["operation"];
        assert_eq!(
            roster_operation(&text(op, "targetType"), &text(op, "operationKey")),
            "read"
        );
        for (roster, target, key) in [
            ("read", "space", "read"),
            ("administer", "space", "administer"),
            ("export", "space", "export"),
            ("restrict_content", "space", "restrict"),
            ("delete_own", "space", "delete_own"),
            ("create:page", "page", "create"),
            ("delete:comment", "comment", "delete"),
            ("create:attachment", "attachment", "create"),
        ] {
            assert_eq!(
                dc_pair(roster).unwrap(),
                (target.to_string(), key.to_string()),
                "{roster}"
            );
            assert_eq!(roster_operation(target, key), roster, "{target}/{key}");
        }
        assert!(dc_pair("archive").is_err());
        // A pair Roster has no name for is kept, not dropped (ref §4.7: space/delete_mail).
        assert_eq!(
            roster_operation("space", "delete_mail"),
            "delete_mail:space"
        );
    }
}
