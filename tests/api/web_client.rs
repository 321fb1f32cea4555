//! A browser's session for the web tests: sign in through the form, then open pages with the
//! session cookie.

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};

use crate::helpers::{TestApp, TestUser};

/// Signs `user` in through the form; returns the `name=value` of the session cookie.
pub async fn sign_in(app: &TestApp, user: &TestUser) -> String {
    let response = app
        .client
        .post(app.url("/sign-in"))
        .header(ORIGIN, &app.address)
        .form(&[
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "sign-in refused");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

/// `GET path` with the session.
pub async fn get(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

/// The status and text of a page.
pub async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let response = get(app, path, cookie).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The session's CSRF token, from a page's form.
pub fn csrf_token(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).expect("a csrf field") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// A page's text without its markup, spaces collapsed (what a reader sees, roughly).
pub fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
