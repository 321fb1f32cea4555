//! The web interface's access matrix, like the API's (`access.rs`): every page (every `GET`
//! route of `sme_ledger::web::ROUTES`) × every role, with what each must get: the page, the
//! "not allowed" page (403), or the way to sign in. A page served but missing from the table
//! fails the test, so no page ships without a decision about who may open it. Every `{id}`
//! names something of the SME's (or, for workshops, something no SME owns).

use reqwest::header::LOCATION;

use crate::helpers::{TestApp, TestUser, days_ago, spawn_app};
use crate::web_client::Browser;

/// What a role gets when it opens a page.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// 200 and the page.
    Page,
    /// 403 and the page that says so.
    Refused,
    /// 303 to the sign-in page (which brings them back afterwards).
    SignIn,
    /// 303 to where the role works (the home of staff).
    Landing(&'static str),
}

use Outcome::{Landing, Page, Refused, SignIn};

/// What a page's `{…}` names.
#[derive(Debug, Clone, Copy)]
enum Target {
    Nothing,
    Stylesheet,
    SubmittedItem,
    Sme,
    Workshop,
    RateKind,
}

use Target::{Nothing, RateKind, Sme, Stylesheet, SubmittedItem, Workshop};

const ROLES: [&str; 5] = ["signed out", "sme", "program_manager", "auditor", "admin"];

/// The stylesheet and the password-link and invitation pages are for anyone.
const ANYONE: [Outcome; 5] = [Page, Page, Page, Page, Page];

#[rustfmt::skip]
const PAGES: &[(&str, Target, [Outcome; 5])] = &[
    // path, what its {…} names, then: signed out, sme, program manager, auditor, admin
    ("/",                             Nothing,       [Page,    Page,    Landing("/review"), Landing("/ledger"), Landing("/users")]),
    ("/static/{name}",                Stylesheet,    ANYONE),
    // Someone signed in already is sent home.
    ("/sign-in",                      Nothing,       [Page,    Landing("/"), Landing("/"), Landing("/"), Landing("/")]),
    ("/invitation",                   Nothing,       ANYONE),
    ("/password-reset",               Nothing,       ANYONE),
    ("/account",                      Nothing,       [SignIn,  Page,    Page,    Page,    Page]),
    ("/account/password",             Nothing,       [SignIn,  Page,    Page,    Page,    Page]),
    ("/items",                        Nothing,       [SignIn,  Page,    Page,    Page,    Refused]),
    ("/items/new",                    Nothing,       [SignIn,  Page,    Refused, Refused, Refused]),
    ("/items/{id}",                   SubmittedItem, [SignIn,  Page,    Page,    Page,    Refused]),
    ("/items/{id}/withdraw",          SubmittedItem, [SignIn,  Page,    Refused, Refused, Refused]),
    ("/statement",                    Nothing,       [SignIn,  Page,    Refused, Refused, Refused]),
    ("/statement.csv",                Nothing,       [SignIn,  Page,    Refused, Refused, Refused]),
    ("/workshop-days",                Nothing,       [SignIn,  Page,    Refused, Refused, Refused]),
    ("/certifications",               Nothing,       [SignIn,  Page,    Refused, Refused, Refused]),
    ("/review",                       Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/smes",                         Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/smes/new",                     Nothing,       [SignIn,  Refused, Page,    Refused, Refused]),
    // An SME has their own at /certifications. Admins record certifications here without
    // the progress section (they read no credits, as `/api/v1/smes/{id}/recertification`).
    ("/smes/{id}/certifications",     Sme,           [SignIn,  Refused, Page,    Page,    Page]),
    ("/workshops",                    Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/workshops/new",                Nothing,       [SignIn,  Refused, Page,    Refused, Refused]),
    ("/workshops/{id}",               Workshop,      [SignIn,  Refused, Page,    Page,    Refused]),
    ("/ledger",                       Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/verify",                       Nothing,       [SignIn,  Refused, Refused, Page,    Page]),
    ("/audit-log",                    Nothing,       [SignIn,  Refused, Refused, Page,    Page]),
    ("/separation-of-duties",         Nothing,       [SignIn,  Refused, Refused, Page,    Refused]),
    ("/exports",                      Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/exports/ledger.csv",           Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/exports/ledger.jsonl",         Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/exports/ledger.manifest.json", Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/exports/signing-key.txt",      Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/summary",                      Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/summary.csv",                  Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/recertification",              Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/recertification.csv",          Nothing,       [SignIn,  Refused, Page,    Page,    Refused]),
    ("/users",                        Nothing,       [SignIn,  Refused, Refused, Refused, Page]),
    ("/users/new",                    Nothing,       [SignIn,  Refused, Refused, Refused, Page]),
    ("/users/{id}",                   Sme,           [SignIn,  Refused, Refused, Refused, Page]),
    ("/rates",                        Nothing,       [SignIn,  Refused, Refused, Refused, Page]),
    ("/rates/{kind}/new",             RateKind,      [SignIn,  Refused, Refused, Refused, Page]),
];

/// What a test needs to open each page: a signed-in browser per role and the things the
/// pages' ids name.
struct World<'a> {
    browsers: Vec<Browser<'a>>,
    sme: TestUser,
    item: String,
    workshop: String,
    stylesheet: String,
}

impl World<'_> {
    fn path(&self, path: &str, target: Target) -> String {
        let id = match target {
            Nothing => return path.to_owned(),
            Stylesheet => return self.stylesheet.clone(),
            SubmittedItem => &self.item,
            Sme => &self.sme.id,
            Workshop => &self.workshop,
            RateKind => return path.replace("{kind}", "items"),
        };
        path.replace("{id}", id)
    }
}

/// Whether the answer to opening `path` is `expected`; and the answer, for the message.
async fn opens_as(
    app: &TestApp,
    browser: Option<&Browser<'_>>,
    path: &str,
    expected: Outcome,
) -> (bool, String) {
    let response = match browser {
        Some(browser) => browser.get(path).await,
        None => app.client.get(app.url(path)).send().await.unwrap(),
    };
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|to| to.to_str().unwrap().to_owned());
    let ok = match (expected, location.as_deref()) {
        (Page, _) => status == 200,
        (Refused, _) => status == 403,
        (SignIn, Some(to)) => status == 303 && to.starts_with("/sign-in"),
        (Landing(landing), Some(to)) => status == 303 && to == landing,
        (SignIn | Landing(_), None) => false,
    };
    (ok, format!("{status} {location:?}"))
}

#[tokio::test]
async fn every_page_answers_every_role_as_the_matrix_says() {
    // A page served but missing from the matrix (or the reverse) fails here.
    let mut served: Vec<&str> = sme_ledger::web::ROUTES
        .iter()
        .filter(|(method, _)| *method == "get")
        .map(|(_, path)| *path)
        .collect();
    let mut listed: Vec<&str> = PAGES.iter().map(|(path, _, _)| *path).collect();
    served.sort_unstable();
    listed.sort_unstable();
    assert_eq!(
        served, listed,
        "the page matrix and the web's routes differ"
    );

    let app = spawn_app().await;
    let sme = app.create_user("sme").await;
    let pm = app.create_user("program_manager").await;
    let auditor = app.create_user("auditor").await;
    let admin = app.create_user("admin").await;
    let item = app.submit_item(&sme, "associate", "standard").await;
    let workshop = app
        .workshop(&pm, "Matrix", "associate", &days_ago(1), &days_ago(0))
        .await;
    let sign_in_page = app.client.get(app.url("/sign-in")).send().await.unwrap();
    let sign_in_page = sign_in_page.text().await.unwrap();
    let start = sign_in_page
        .find("/static/app.")
        .expect("a stylesheet link");
    let stylesheet = sign_in_page[start..].split('"').next().unwrap().to_owned();
    let mut browsers = Vec::new();
    for user in [&sme, &pm, &auditor, &admin] {
        browsers.push(app.browser(user).await);
    }
    let world = World {
        browsers,
        sme: sme.clone(),
        item,
        workshop,
        stylesheet,
    };

    let mut failures = Vec::new();
    for (path, target, expected) in PAGES {
        let url = world.path(path, *target);
        for (role, expected) in expected.iter().enumerate() {
            let browser = role.checked_sub(1).map(|i| &world.browsers[i]);
            let (ok, seen) = opens_as(&app, browser, &url, *expected).await;
            if !ok {
                failures.push(format!(
                    "{path} as {}: {seen} (expected {expected:?})",
                    ROLES[role]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
