//! A browser's session for the web tests: [`TestApp::browser`] signs in through the form, and
//! the [`Browser`] it returns opens pages and posts forms with the session cookie, from the
//! service's own origin, as a browser on the site does. Every web test goes through it; a
//! test about what a browser must NOT be able to do (another origin, no token) builds that
//! one request itself from [`Browser::cookie`].

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};

use crate::helpers::{TestApp, TestUser};

/// A signed-in browser: the session cookie, and the service it belongs to.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookie: String,
}

impl TestApp {
    /// Signs `user` in through the form (their password already their own).
    pub async fn browser(&self, user: &TestUser) -> Browser<'_> {
        self.browser_as(&user.email, &user.password).await
    }

    /// Signs in through the form with `email` and `password`.
    pub async fn browser_as(&self, email: &str, password: &str) -> Browser<'_> {
        let response = self
            .client
            .post(self.url("/sign-in"))
            .header(ORIGIN, &self.address)
            .form(&[("email", email), ("password", password), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "sign-in refused for {email}");
        Browser {
            app: self,
            cookie: session_cookie(&response),
        }
    }
}

impl TestApp {
    /// A browser that brings `cookie` (`name=value`), e.g. one a sign-in response set.
    pub fn browser_with(&self, cookie: String) -> Browser<'_> {
        Browser { app: self, cookie }
    }
}

/// The `name=value` of the session cookie a response sets.
pub fn session_cookie(response: &reqwest::Response) -> String {
    let header = response
        .headers()
        .get(SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .unwrap();
    header.split(';').next().unwrap().to_owned()
}

impl Browser<'_> {
    /// The session cookie's `name=value`, for a request a browser would not send by itself.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// `GET path` with the session, to add headers to before sending.
    pub fn get_request(&self, path: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .get(self.app.url(path))
            .header(COOKIE, &self.cookie)
    }

    /// `GET path` with the session (redirects are not followed).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_request(path).send().await.unwrap()
    }

    /// The status and text of a page.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// The text of a page, whatever its status.
    pub async fn text(&self, path: &str) -> String {
        self.page(path).await.1
    }

    /// The session's CSRF token, from the form on the page at `path`.
    pub async fn csrf(&self, path: &str) -> String {
        csrf_token(&self.text(path).await)
    }

    /// Posts `fields` to `path` with the session from the site's own origin, as they are
    /// (no CSRF token added: see [`Self::submit`]).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url(path))
            .header(COOKIE, &self.cookie)
            .header(ORIGIN, &self.app.address)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Fills in the form of the page at `form_page` and posts it to `path`: `fields` and the
    /// page's CSRF token.
    pub async fn submit(
        &self,
        form_page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf(form_page).await;
        let mut form = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        self.post(path, &form).await
    }

    /// [`Self::submit`], answered by the status and the visible text of the page it returns.
    pub async fn submit_for_text(
        &self,
        form_page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String) {
        let response = self.submit(form_page, path, fields).await;
        let status = response.status().as_u16();
        (status, visible_text(&response.text().await.unwrap()))
    }
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
