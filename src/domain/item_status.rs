//! The item status machine:
//!
//! ```text
//! submitted ──accept──▶ accepted ──revoke──▶ revoked
//!     ├──────reject───▶ rejected
//!     └─────withdraw──▶ withdrawn
//! ```

use std::fmt;

named_enum!(ItemStatus {
    Submitted,
    Accepted,
    Rejected,
    Withdrawn,
    Revoked,
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ItemAction {
    Accept,
    Reject,
    Withdraw,
    Revoke,
}

/// A transition the current status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAllowed {
    pub current: ItemStatus,
    pub action: ItemAction,
}

impl ItemStatus {
    /// The status after `action`, if `action` is allowed now.
    pub fn apply(self, action: ItemAction) -> Result<ItemStatus, NotAllowed> {
        use ItemAction as A;
        use ItemStatus as S;
        match (self, action) {
            (S::Submitted, A::Accept) => Ok(S::Accepted),
            (S::Submitted, A::Reject) => Ok(S::Rejected),
            (S::Submitted, A::Withdraw) => Ok(S::Withdrawn),
            (S::Accepted, A::Revoke) => Ok(S::Revoked),
            (current, action) => Err(NotAllowed { current, action }),
        }
    }
}

impl ItemAction {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The status this action leads to, as a word (for people: a sentence's word, not a
    /// stored name, so written out).
    pub fn past_participle(self) -> &'static str {
        match self {
            ItemAction::Accept => "accepted",
            ItemAction::Reject => "rejected",
            ItemAction::Withdraw => "withdrawn",
            ItemAction::Revoke => "revoked",
        }
    }

    /// The status this action requires.
    pub fn from_status(self) -> ItemStatus {
        match self {
            ItemAction::Revoke => ItemStatus::Accepted,
            _ => ItemStatus::Submitted,
        }
    }
}

impl fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "The item is {}; it cannot be {} now (only a {} item can).",
            self.current.as_str(),
            self.action.past_participle(),
            self.action.from_status().as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [ItemAction; 4] = [
        ItemAction::Accept,
        ItemAction::Reject,
        ItemAction::Withdraw,
        ItemAction::Revoke,
    ];

    #[test]
    fn a_submitted_item_can_be_decided_or_withdrawn() {
        assert_eq!(
            ItemStatus::Submitted.apply(ItemAction::Accept),
            Ok(ItemStatus::Accepted)
        );
        assert_eq!(
            ItemStatus::Submitted.apply(ItemAction::Reject),
            Ok(ItemStatus::Rejected)
        );
        assert_eq!(
            ItemStatus::Submitted.apply(ItemAction::Withdraw),
            Ok(ItemStatus::Withdrawn)
        );
        assert!(ItemStatus::Submitted.apply(ItemAction::Revoke).is_err());
    }

    #[test]
    fn only_an_accepted_item_can_be_revoked() {
        assert_eq!(
            ItemStatus::Accepted.apply(ItemAction::Revoke),
            Ok(ItemStatus::Revoked)
        );
        for action in [ItemAction::Accept, ItemAction::Reject, ItemAction::Withdraw] {
            assert!(ItemStatus::Accepted.apply(action).is_err());
        }
    }

    #[test]
    fn final_states_allow_nothing() {
        for status in [
            ItemStatus::Rejected,
            ItemStatus::Withdrawn,
            ItemStatus::Revoked,
        ] {
            for action in ACTIONS {
                assert_eq!(
                    status.apply(action),
                    Err(NotAllowed {
                        current: status,
                        action
                    })
                );
            }
        }
    }

    #[test]
    fn every_allowed_action_starts_from_its_documented_status() {
        for &status in ItemStatus::ALL {
            for action in ACTIONS {
                if status.apply(action).is_ok() {
                    assert_eq!(action.from_status(), status);
                }
            }
        }
    }

    #[test]
    fn refusals_read_well() {
        let refusal = ItemStatus::Rejected.apply(ItemAction::Accept).err();
        assert_eq!(
            refusal.map(|r| r.to_string()).as_deref(),
            Some("The item is rejected; it cannot be accepted now (only a submitted item can).")
        );
    }
}
