//! Recertification (SPEC §10): the cycles of a certification and an SME's progress toward
//! renewing it with the credits earned here. Pure rules: no database, no HTTP.
//!
//! - A cycle runs from its first day to its `expires_on` (both included); recording a
//!   renewal on a day starts a new cycle that day, ending [`CYCLE_MONTHS`] later.
//! - Progress at `as_of` counts the credits *earned* in the window `[cycle start,
//!   min(expires_on, as_of)]`: the entries posted in it, less the reversals of those entries
//!   posted up to `as_of` (even after the window's end: a reversal takes its entry back
//!   wherever it falls). A reversal of an entry from before the window takes nothing from it.
//! - Nothing posted after `as_of` changes the answer for that `as_of`.

use chrono::{Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use unicode_normalization::UnicodeNormalization;

use super::text::is_invisible_or_bidi;
use super::{CertificationLevel, Invalid};

/// A cycle lasts 3 years.
pub const CYCLE_MONTHS: u32 = 36;
/// A certification not yet met with this many days left, or fewer, is due soon; credits
/// that stop counting within this many days are reported.
pub const DUE_SOON_DAYS: i64 = 90;
/// Credits earned more than this many months ago stop counting within [`DUE_SOON_DAYS`]
/// (they count for [`CYCLE_MONTHS`] from the day they are earned).
pub const EXPIRING_AFTER_MONTHS: u32 = 33;

/// Whether credits earned here can renew a certification of `level`: not an entry-level one.
pub fn ce_applies(level: CertificationLevel) -> bool {
    level != CertificationLevel::Entry
}

/// A certification's name: trimmed, 1 to 120 characters, no control, invisible or
/// text-direction characters, in Unicode canonical form (NFC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationName(String);

impl CertificationName {
    pub const MAX_LEN: usize = 120;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_LEN {
            return Err(Invalid::new(format!(
                "must be 1 to {} characters",
                Self::MAX_LEN
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid::new("must not contain control characters"));
        }
        if name.chars().any(is_invisible_or_bidi) {
            return Err(Invalid::new(
                "must not contain invisible or text-direction characters",
            ));
        }
        Ok(Self(name.nfc().collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What two names of one SME must not share: case and runs of spaces ignored
    /// ("CCNP  enterprise" is "CCNP Enterprise").
    pub fn key(&self) -> String {
        self.0
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }
}

/// One cycle of a certification: from `starts_on` to `expires_on`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    pub starts_on: NaiveDate,
    pub expires_on: NaiveDate,
}

/// The day a cycle starting on `starts_on` ends: 3 years on.
pub fn cycle_expiry(starts_on: NaiveDate) -> Option<NaiveDate> {
    starts_on.checked_add_months(Months::new(CYCLE_MONTHS))
}

/// The first cycle of a certification being recorded: certified on a day not after `today`,
/// expiring after it (3 years on when not given).
pub fn first_cycle(
    certified_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Cycle, Vec<(&'static str, Invalid)>> {
    let mut refused = Vec::new();
    if certified_on > today {
        refused.push((
            "certified_on",
            Invalid::new(format!("must not be in the future (today is {today})")),
        ));
    }
    let expires_on = match expires_on.or_else(|| cycle_expiry(certified_on)) {
        Some(expires_on) if expires_on > certified_on => Some(expires_on),
        Some(_) => {
            refused.push(("expires_on", Invalid::new("must be after certified_on")));
            None
        }
        None => {
            refused.push(("certified_on", Invalid::new("is out of range")));
            None
        }
    };
    match expires_on {
        Some(expires_on) if refused.is_empty() => Ok(Cycle {
            starts_on: certified_on,
            expires_on,
        }),
        _ => Err(refused),
    }
}

/// The cycle a renewal recorded `on` a day starts: not in the future, after the current
/// cycle's start (a cycle is never replaced), ending 3 years on.
pub fn renewal(current: Cycle, on: NaiveDate, today: NaiveDate) -> Result<Cycle, Invalid> {
    if on > today {
        return Err(Invalid::new(format!(
            "must not be in the future (today is {today})"
        )));
    }
    if on <= current.starts_on {
        return Err(Invalid::new(format!(
            "must be after the current cycle's start ({})",
            current.starts_on
        )));
    }
    let expires_on = cycle_expiry(on).ok_or_else(|| Invalid::new("is out of range"))?;
    Ok(Cycle {
        starts_on: on,
        expires_on,
    })
}

/// The cycle in force on `day`: the latest one started on or before it. `None` if the
/// certification was not held yet.
pub fn cycle_on(cycles: &[Cycle], day: NaiveDate) -> Option<Cycle> {
    cycles
        .iter()
        .filter(|cycle| cycle.starts_on <= day)
        .max_by_key(|cycle| cycle.starts_on)
        .copied()
}

/// One ledger entry as progress needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub posted_at: NaiveDateTime,
    /// Negative for a reversal.
    pub amount: i64,
    /// For a reversal: when the entry it reverses was posted.
    pub reverses_posted_at: Option<NaiveDateTime>,
}

impl Posting {
    /// When the credits were earned: a reversal belongs to the entry it takes back.
    fn earned_at(&self) -> NaiveDateTime {
        self.reverses_posted_at.unwrap_or(self.posted_at)
    }
}

named_enum!(Status {
    /// Enough credits earned in the cycle.
    Met,
    /// Not met, with [`DUE_SOON_DAYS`] or fewer left.
    DueSoon,
    /// Not met, with more time left.
    Open,
    /// The cycle ended before `as_of` and no renewal was recorded.
    Expired,
    /// An entry-level certification: CE credits do not renew it.
    NotApplicable,
});

/// One certification's progress at `as_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The window's first instant (the cycle's first day) and its last (the end of
    /// `expires_on`, or `as_of` if earlier).
    pub window_from: NaiveDateTime,
    pub window_to: NaiveDateTime,
    /// `None` for an entry-level certification.
    pub required: Option<i64>,
    pub earned: i64,
    /// `required - earned`, never below 0; `None` where nothing is required.
    pub remaining: Option<i64>,
    /// Days from `as_of`'s day to `expires_on`, never below 0.
    pub days_left: i64,
    pub status: Status,
    /// Credits in the window earned more than [`EXPIRING_AFTER_MONTHS`] ago: they stop
    /// counting within [`DUE_SOON_DAYS`].
    pub expiring_soon: i64,
}

/// The last instant of `day` (a microsecond before the next day).
fn end_of(day: NaiveDate) -> NaiveDateTime {
    day.succ_opt().map_or(NaiveDateTime::MAX, |next| {
        next.and_time(NaiveTime::MIN) - TimeDelta::microseconds(1)
    })
}

/// The progress of one cycle at `as_of`, from the SME's postings (any of them: those outside
/// the window count for nothing). `required` is the requirement in force for the cycle;
/// `None` when CE does not apply (entry level).
pub fn progress(
    cycle: Cycle,
    required: Option<i64>,
    postings: &[Posting],
    as_of: NaiveDateTime,
) -> Progress {
    let window_from = cycle.starts_on.and_time(NaiveTime::MIN);
    let window_to = end_of(cycle.expires_on).min(as_of);
    let today = as_of.date();
    let expiring_before = today
        .checked_sub_months(Months::new(EXPIRING_AFTER_MONTHS))
        .map(|day| day.and_time(NaiveTime::MIN));
    let (mut earned, mut expiring_soon) = (0_i64, 0_i64);
    for posting in postings {
        let earned_at = posting.earned_at();
        if posting.posted_at > as_of || earned_at < window_from || earned_at > window_to {
            continue;
        }
        earned = earned.saturating_add(posting.amount);
        if expiring_before.is_some_and(|before| earned_at < before) {
            expiring_soon = expiring_soon.saturating_add(posting.amount);
        }
    }
    let days_left = (cycle.expires_on - today).num_days().max(0);
    let status = match required {
        None if today > cycle.expires_on => Status::Expired,
        None => Status::NotApplicable,
        Some(_) if today > cycle.expires_on => Status::Expired,
        Some(required) if earned >= required => Status::Met,
        Some(_) if days_left <= DUE_SOON_DAYS => Status::DueSoon,
        Some(_) => Status::Open,
    };
    Progress {
        window_from,
        window_to,
        required,
        earned,
        remaining: required.map(|required| (required - earned).max(0)),
        days_left,
        status,
        expiring_soon,
    }
}

/// Among certifications (their level and the cycle in force on `day`, if any), the index of
/// the highest active one: held on `day` and not expired; the highest level, then the latest
/// expiry. Renewing it renews those below it.
pub fn highest_active(
    certifications: &[(CertificationLevel, Option<Cycle>)],
    day: NaiveDate,
) -> Option<usize> {
    certifications
        .iter()
        .enumerate()
        .filter_map(|(index, (level, cycle))| {
            cycle
                .filter(|cycle| cycle.starts_on <= day && day <= cycle.expires_on)
                .map(|cycle| ((*level, cycle.expires_on), index))
        })
        .max_by_key(|(rank, index)| (*rank, std::cmp::Reverse(*index)))
        .map(|(_, index)| index)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        day(y, m, d).and_hms_opt(h, 0, 0).unwrap_or_default()
    }

    fn award(posted_at: NaiveDateTime, amount: i64) -> Posting {
        Posting {
            posted_at,
            amount,
            reverses_posted_at: None,
        }
    }

    fn reversal(posted_at: NaiveDateTime, of: &Posting) -> Posting {
        Posting {
            posted_at,
            amount: -of.amount,
            reverses_posted_at: Some(of.posted_at),
        }
    }

    fn cycle_2024() -> Cycle {
        Cycle {
            starts_on: day(2024, 1, 10),
            expires_on: day(2027, 1, 10),
        }
    }

    #[test]
    fn a_cycle_lasts_three_years() {
        assert_eq!(cycle_expiry(day(2024, 2, 29)), Some(day(2027, 2, 28)));
        assert_eq!(
            first_cycle(day(2024, 1, 10), None, day(2026, 1, 1)),
            Ok(cycle_2024())
        );
    }

    #[test]
    fn a_first_cycle_is_not_in_the_future_and_expires_after_it_starts() {
        let today = day(2026, 1, 1);
        let refused = first_cycle(day(2026, 2, 1), Some(day(2026, 1, 15)), today)
            .err()
            .unwrap_or_default();
        let fields: Vec<&str> = refused.iter().map(|(field, _)| *field).collect();
        assert_eq!(fields, ["certified_on", "expires_on"]);
        assert!(first_cycle(day(2025, 1, 1), Some(day(2025, 1, 1)), today).is_err());
    }

    #[test]
    fn a_renewal_starts_a_new_cycle_after_the_current_start_and_not_in_the_future() {
        let today = day(2026, 6, 1);
        assert_eq!(
            renewal(cycle_2024(), day(2026, 5, 1), today),
            Ok(Cycle {
                starts_on: day(2026, 5, 1),
                expires_on: day(2029, 5, 1)
            })
        );
        assert!(renewal(cycle_2024(), day(2026, 6, 2), today).is_err());
        assert!(renewal(cycle_2024(), day(2024, 1, 10), today).is_err());
        assert!(renewal(cycle_2024(), day(2023, 1, 10), today).is_err());
    }

    #[test]
    fn the_cycle_in_force_is_the_latest_started() {
        let renewed = Cycle {
            starts_on: day(2026, 5, 1),
            expires_on: day(2029, 5, 1),
        };
        let cycles = [cycle_2024(), renewed];
        assert_eq!(cycle_on(&cycles, day(2026, 4, 30)), Some(cycle_2024()));
        assert_eq!(cycle_on(&cycles, day(2026, 5, 1)), Some(renewed));
        assert_eq!(cycle_on(&cycles, day(2020, 1, 1)), None);
    }

    #[test]
    fn earned_counts_the_window_less_the_reversals_of_its_entries() {
        let before = award(at(2024, 1, 9, 23), 50);
        let inside = award(at(2025, 3, 1, 12), 12);
        let later = award(at(2025, 4, 1, 12), 6);
        let postings = [
            before,
            inside,
            later,
            reversal(at(2025, 5, 1, 9), &before),
            reversal(at(2025, 5, 2, 9), &later),
        ];
        let progress = progress(cycle_2024(), Some(80), &postings, at(2025, 6, 1, 0));
        assert_eq!(progress.earned, 12);
        assert_eq!(progress.remaining, Some(68));
        assert_eq!(progress.status, Status::Open);
    }

    #[test]
    fn a_reversal_after_the_window_still_takes_its_entry_back() {
        let inside = award(at(2026, 12, 1, 12), 12);
        let postings = [inside, reversal(at(2027, 2, 1, 9), &inside)];
        let as_of = at(2027, 3, 1, 0);
        let progress = progress(cycle_2024(), Some(30), &postings, as_of);
        assert_eq!(progress.window_to, end_of(day(2027, 1, 10)));
        assert_eq!(progress.earned, 0);
        assert_eq!(progress.status, Status::Expired);
        assert_eq!(progress.days_left, 0);
    }

    #[test]
    fn a_renewal_leaves_earlier_credits_behind() {
        let renewed = Cycle {
            starts_on: day(2026, 5, 1),
            expires_on: day(2029, 5, 1),
        };
        let postings = [award(at(2026, 4, 30, 12), 40), award(at(2026, 5, 1, 8), 3)];
        let now = at(2026, 6, 1, 0);
        assert_eq!(progress(cycle_2024(), Some(40), &postings, now).earned, 43);
        assert_eq!(progress(renewed, Some(40), &postings, now).earned, 3);
    }

    #[test]
    fn status_follows_earned_and_days_left() {
        let postings = [award(at(2024, 6, 1, 12), 30)];
        let early = at(2025, 1, 1, 0);
        assert_eq!(
            progress(cycle_2024(), Some(30), &postings, early).status,
            Status::Met
        );
        assert_eq!(
            progress(cycle_2024(), Some(40), &postings, early).status,
            Status::Open
        );
        let late = progress(cycle_2024(), Some(40), &postings, at(2026, 10, 12, 0));
        assert_eq!((late.status, late.days_left), (Status::DueSoon, 90));
        let open = progress(cycle_2024(), Some(40), &postings, at(2026, 10, 11, 0));
        assert_eq!((open.status, open.days_left), (Status::Open, 91));
        // On its last day a cycle is still running.
        let last = progress(cycle_2024(), Some(40), &postings, at(2027, 1, 10, 23));
        assert_eq!((last.status, last.days_left), (Status::DueSoon, 0));
    }

    #[test]
    fn entry_level_has_no_requirement() {
        let progress = progress(cycle_2024(), None, &[], at(2025, 1, 1, 0));
        assert_eq!(progress.status, Status::NotApplicable);
        assert_eq!((progress.required, progress.remaining), (None, None));
        assert!(!ce_applies(CertificationLevel::Entry));
        assert!(ce_applies(CertificationLevel::Associate));
    }

    #[test]
    fn credits_earned_more_than_33_months_ago_are_expiring() {
        let old = award(at(2024, 2, 1, 12), 10);
        let newer = award(at(2024, 6, 1, 12), 5);
        let progress = progress(cycle_2024(), Some(30), &[old, newer], at(2026, 11, 15, 0));
        assert_eq!((progress.earned, progress.expiring_soon), (15, 10));
    }

    #[test]
    fn the_highest_active_certification_is_the_highest_level_held_and_not_expired() {
        let today = day(2026, 1, 1);
        let lapsed = Cycle {
            starts_on: day(2020, 1, 1),
            expires_on: day(2023, 1, 1),
        };
        let certifications = [
            (CertificationLevel::Associate, Some(cycle_2024())),
            (CertificationLevel::Expert, Some(lapsed)),
            (CertificationLevel::Professional, Some(cycle_2024())),
            (CertificationLevel::Specialist, None),
        ];
        assert_eq!(highest_active(&certifications, today), Some(2));
        assert_eq!(highest_active(&certifications[..2], today), Some(0));
        assert_eq!(highest_active(&certifications[1..2], today), None);
    }

    #[test]
    fn names_are_trimmed_bounded_and_compared_loosely() {
        let name = CertificationName::parse("  CCNP  Enterprise ")
            .unwrap_or_else(|_| CertificationName(String::new()));
        assert_eq!(name.as_str(), "CCNP  Enterprise");
        assert_eq!(name.key(), "ccnp enterprise");
        assert!(CertificationName::parse(" ").is_err());
        assert!(CertificationName::parse(&"x".repeat(121)).is_err());
        assert!(CertificationName::parse(&"x".repeat(120)).is_ok());
        assert!(CertificationName::parse("CCNP\u{202E}").is_err());
        assert!(CertificationName::parse("CCNP\nEnterprise").is_err());
    }

    #[test]
    fn statuses_parse() {
        for &status in Status::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
        assert!("MET".parse::<Status>().is_err());
    }

    /// A random ledger of one SME: awards over four years (hours from 2023-01-01), some of
    /// them reversed later. Postings come in posting order.
    fn ledger() -> impl Strategy<Value = Vec<Posting>> {
        proptest::collection::vec(
            (0i64..35_000, 0i64..13, proptest::option::of(1i64..9_000)),
            0..40,
        )
        .prop_map(|raw| {
            let start = at(2023, 1, 1, 0);
            let mut postings = Vec::new();
            for (hour, amount, reversed_after) in raw {
                let award = award(start + TimeDelta::hours(hour), amount);
                postings.push(award);
                if let Some(after) = reversed_after {
                    postings.push(reversal(award.posted_at + TimeDelta::hours(after), &award));
                }
            }
            postings.sort_by_key(|posting| posting.posted_at);
            postings
        })
    }

    fn as_of() -> impl Strategy<Value = NaiveDateTime> {
        (0i64..40_000).prop_map(|hour| at(2023, 1, 1, 0) + TimeDelta::hours(hour))
    }

    proptest! {
        /// Earned is never more than the credits posted in the window before any reversal,
        /// never less than 0, and never more than the window's balance (what
        /// `GET /smes/{id}/credits?from=&to=&as_of=` answers) unless a reversal in the window
        /// took back an entry from before it: that reversal lowers the balance, not earned.
        #[test]
        fn earned_never_exceeds_the_balance_over_the_window(postings in ledger(), as_of in as_of()) {
            let progress = progress(cycle_2024(), Some(40), &postings, as_of);
            let in_window = |p: &&Posting| p.posted_at >= progress.window_from && p.posted_at <= progress.window_to;
            let gross: i64 = postings.iter().filter(in_window).filter(|p| p.amount > 0).map(|p| p.amount).sum();
            let balance: i64 = postings.iter().filter(in_window).map(|p| p.amount).sum();
            let reaches_back = postings.iter().filter(in_window)
                .any(|p| p.reverses_posted_at.is_some_and(|of| of < progress.window_from));
            prop_assert!(progress.earned >= 0);
            prop_assert!(progress.earned <= gross);
            if !reaches_back {
                prop_assert!(progress.earned <= balance);
            }
            prop_assert!(progress.expiring_soon <= progress.earned);
        }

        /// Reversing an entry of the window after the window has ended takes exactly that
        /// entry's credits back.
        #[test]
        fn a_reversal_after_the_windows_end_removes_its_entry(
            postings in ledger(), hour in 0i64..26_000, amount in 1i64..13, late in 1i64..2_000,
        ) {
            let entry = award(at(2024, 1, 10, 0) + TimeDelta::hours(hour), amount);
            let mut with_entry = postings.clone();
            with_entry.push(entry);
            let window_end = end_of(cycle_2024().expires_on);
            let as_of = window_end + TimeDelta::hours(late + 1);
            let before = progress(cycle_2024(), Some(40), &with_entry, as_of);
            with_entry.push(reversal(window_end + TimeDelta::hours(late), &entry));
            let after = progress(cycle_2024(), Some(40), &with_entry, as_of);
            prop_assert_eq!(after.earned, before.earned - amount);
        }

        /// Whatever is posted after `as_of` (new entries, reversals of old ones), the progress
        /// at `as_of` stays the same.
        #[test]
        fn progress_as_of_the_past_never_changes_when_later_entries_are_posted(
            postings in ledger(), as_of in as_of(), later in ledger(),
        ) {
            let known: Vec<Posting> = postings.iter().copied().filter(|p| p.posted_at <= as_of).collect();
            let before = progress(cycle_2024(), Some(40), &known, as_of);
            let mut more = known.clone();
            for (i, posting) in later.iter().enumerate() {
                let shifted = as_of + TimeDelta::hours(1) + (posting.posted_at - at(2023, 1, 1, 0));
                more.push(award(shifted, posting.amount.abs()));
                if let Some(old) = known.get(i)
                    && old.reverses_posted_at.is_none()
                {
                    more.push(reversal(shifted, old));
                }
            }
            prop_assert_eq!(progress(cycle_2024(), Some(40), &more, as_of), before);
        }
    }
}
