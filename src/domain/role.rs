named_enum!(
    /// The one role a user holds.
    Role { Sme, ProgramManager, Auditor, Admin }
);

impl Role {
    /// Which roles a user of this role may create accounts for.
    /// Admins create any role; program managers onboard SMEs only.
    pub fn may_create(self, target: Role) -> bool {
        match self {
            Role::Admin => true,
            Role::ProgramManager => target == Role::Sme,
            Role::Sme | Role::Auditor => false,
        }
    }

    /// Whether a change takes admin rights away: the account is an active admin (`self`
    /// is its role, `disabled` its state) and afterwards is disabled or holds `new_role`.
    pub fn removes_active_admin(
        self,
        disabled: bool,
        new_role: Option<Role>,
        disable: Option<bool>,
    ) -> bool {
        let active_admin = self == Role::Admin && !disabled;
        let stays_admin = new_role.unwrap_or(self) == Role::Admin;
        let stays_enabled = !disable.unwrap_or(disabled);
        active_admin && !(stays_admin && stays_enabled)
    }

    /// Roles that may read every user's account (not only their own).
    pub fn reads_all_users(self) -> bool {
        matches!(self, Role::Admin | Role::ProgramManager | Role::Auditor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for &role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
    }

    #[test]
    fn unknown_role_names_are_refused() {
        assert!("root".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
    }

    #[test]
    fn program_managers_create_smes_only() {
        assert!(Role::ProgramManager.may_create(Role::Sme));
        for target in [Role::ProgramManager, Role::Auditor, Role::Admin] {
            assert!(!Role::ProgramManager.may_create(target));
        }
    }

    #[test]
    fn only_disabling_or_demoting_an_active_admin_removes_one() {
        let admin = Role::Admin;
        assert!(admin.removes_active_admin(false, None, Some(true)));
        assert!(admin.removes_active_admin(false, Some(Role::Auditor), None));
        assert!(admin.removes_active_admin(false, Some(Role::Admin), Some(true)));
        assert!(!admin.removes_active_admin(false, Some(Role::Admin), Some(false)));
        assert!(!admin.removes_active_admin(false, None, None));
        // Already disabled: nothing is taken away, whatever the change.
        assert!(!admin.removes_active_admin(true, Some(Role::Sme), Some(true)));
        for role in [Role::Sme, Role::ProgramManager, Role::Auditor] {
            assert!(!role.removes_active_admin(false, Some(Role::Sme), Some(true)));
        }
    }

    #[test]
    fn admins_create_any_role_and_others_none() {
        for &target in Role::ALL {
            assert!(Role::Admin.may_create(target));
            assert!(!Role::Sme.may_create(target));
            assert!(!Role::Auditor.may_create(target));
        }
    }
}
