//! Certifications and recertification (SPEC §10), one module per resource: an SME's
//! certifications and their cycles ([`records`]), progress toward renewal ([`progress`]),
//! the report of cycles ending soon ([`report`]), and the requirement versions
//! ([`requirements`]).

mod progress;
mod records;
mod report;
mod requirements;

pub use progress::*;
pub use records::*;
pub use report::*;
pub use requirements::*;
