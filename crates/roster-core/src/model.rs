//! The reference meaning of each plan action on an [`ActualState`].
//!
//! Targets must behave like this; the in-memory target is exactly this, and the property
//! tests use it to check that applying a plan reaches the desired state. Every action is
//! idempotent: applying it to a state that already reflects it reports `AlreadyDone`.

use crate::plan::{AccountRef, Action};
use crate::state::{Account, ActualState, Entitlement, GroupSpacePermission};
use crate::target::{StepOutcome, TargetError};

fn done(changed: bool) -> StepOutcome {
    if changed {
        StepOutcome::Applied
    } else {
        StepOutcome::AlreadyDone
    }
}

impl ActualState {
    /// Finds an account the way targets do: by the system's id, then employee id, then e-mail.
    pub fn find_account(&self, r: &AccountRef) -> Option<usize> {
        if let Some(id) = &r.external_id
            && let Some(i) = self.accounts.iter().position(|a| &a.external_id == id)
        {
            return Some(i);
        }
        if let Some(i) = self
            .accounts
            .iter()
            .position(|a| a.employee_id.as_deref() == Some(r.employee_id.as_str()))
        {
            return Some(i);
        }
        let email = crate::person::normalise_email(&r.email);
        self.accounts
            .iter()
            .position(|a| crate::person::normalise_email(&a.email) == email)
    }

    /// Applies one action. `new_id` names an account the action creates.
    pub fn apply(
        &mut self,
        action: &Action,
        new_id: impl FnOnce(&AccountRef) -> String,
    ) -> Result<StepOutcome, TargetError> {
        let missing = |r: &AccountRef| {
            TargetError::Permanent(format!(
                "account {} ({}) does not exist",
                r.email, r.employee_id
            ))
        };
        match action {
            Action::CreateGroup { group } => Ok(done(self.groups.insert(group.clone()))),
            Action::GrantGroupSpacePermission {
                group,
                space,
                operation,
            } => {
                if !self.groups.contains(group) {
                    return Err(TargetError::Permanent(format!(
                        "group {group} does not exist"
                    )));
                }
                Ok(done(self.group_space_permissions.insert(
                    GroupSpacePermission {
                        group: group.clone(),
                        space: space.clone(),
                        operation: operation.clone(),
                    },
                )))
            }
            Action::RevokeGroupSpacePermission {
                group,
                space,
                operation,
            } => Ok(done(self.group_space_permissions.remove(
                &GroupSpacePermission {
                    group: group.clone(),
                    space: space.clone(),
                    operation: operation.clone(),
                },
            ))),
            Action::CreateAccount { account, active } => {
                if self.find_account(account).is_some() {
                    return Ok(StepOutcome::AlreadyDone);
                }
                let external_id = new_id(account);
                self.accounts.push(Account {
                    external_id,
                    employee_id: Some(account.employee_id.clone()),
                    email: account.email.clone(),
                    display_name: account.display_name.clone(),
                    active: *active,
                    last_active: None,
                    entitlements: Default::default(),
                });
                Ok(StepOutcome::Applied)
            }
            Action::UpdateAccount { account } => {
                let i = self.find_account(account).ok_or_else(|| missing(account))?;
                let a = &mut self.accounts[i];
                let changed = a.employee_id.as_deref() != Some(account.employee_id.as_str())
                    || a.email != account.email
                    || a.display_name != account.display_name;
                a.employee_id = Some(account.employee_id.clone());
                a.email = account.email.clone();
                a.display_name = account.display_name.clone();
                Ok(done(changed))
            }
            Action::ActivateAccount { account } | Action::DeactivateAccount { account } => {
                let want = matches!(action, Action::ActivateAccount { .. });
                let i = self.find_account(account).ok_or_else(|| missing(account))?;
                let a = &mut self.accounts[i];
                let changed = a.active != want;
                a.active = want;
                Ok(done(changed))
            }
            Action::Add {
                account,
                entitlement,
            } => {
                if let Entitlement::Group { group } = entitlement
                    && !self.groups.contains(group)
                {
                    return Err(TargetError::Permanent(format!(
                        "group {group} does not exist"
                    )));
                }
                let i = self.find_account(account).ok_or_else(|| missing(account))?;
                Ok(done(
                    self.accounts[i].entitlements.insert(entitlement.clone()),
                ))
            }
            Action::Remove {
                account,
                entitlement,
            } => {
                let i = self.find_account(account).ok_or_else(|| missing(account))?;
                Ok(done(self.accounts[i].entitlements.remove(entitlement)))
            }
        }
    }
}
