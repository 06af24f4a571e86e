//! Safety checks: a plan that takes access from too many accounts is held for an admin.

use crate::plan::{Hold, PlanSummary};
use crate::policy::Policy;

/// Holds the plan when the share of managed accounts losing access exceeds the policy's limit.
pub fn check(policy: &Policy, summary: &PlanSummary) -> Option<Hold> {
    if summary.revoking_accounts == 0 {
        return None;
    }
    let threshold = policy.safety.max_revoke_share;
    let share = summary.revoking_accounts as f64 / summary.managed_accounts.max(1) as f64;
    (share > threshold).then(|| Hold {
        message: format!(
            "held: this plan deactivates or revokes access for {} of {} managed accounts ({:.0} %), above the safety limit of {:.0} %. \
             If the HR data is right, confirm with `roster apply --confirm`; if not, fix the source and plan again",
            summary.revoking_accounts,
            summary.managed_accounts,
            share * 100.0,
            threshold * 100.0
        ),
        share,
        threshold,
    })
}
