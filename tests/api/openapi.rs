//! The OpenAPI document covers every route the service serves, and only those.

use reqwest::Method;

use crate::helpers::spawn_app;

/// Every `method path` the OpenAPI document lists (`get /api/v1/items`…).
pub fn documented_routes(document: &serde_json::Value) -> Vec<String> {
    document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{method} {path}"))
        })
        .collect()
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_no_other() {
    let app = spawn_app().await;
    let reply = app
        .send(app.request(Method::GET, "/api/v1/openapi.json", None))
        .await;
    reply.expect(200);
    let document = &reply.body;
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let mut served: Vec<String> = sme_ledger::http::ROUTES
        .iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    let mut documented = documented_routes(document);
    served.sort();
    documented.sort();
    assert_eq!(served, documented, "routes and the OpenAPI document differ");

    let mut operation_ids = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operation_ids.push(operation["operationId"].as_str().unwrap().to_owned());
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{method} {path} has no success response"
            );
            assert_eq!(
                responses["500"]["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem"
            );
            let public = [
                "/healthz",
                "/readyz",
                "/api/v1/openapi.json",
                "/api/v1/auth/login",
                "/api/v1/auth/refresh",
                "/api/v1/auth/logout",
                "/api/v1/auth/invitations/accept",
                "/api/v1/auth/password-reset",
                "/api/v1/auth/password-reset/confirm",
            ];
            assert_eq!(
                operation.get("security").is_some(),
                !public.contains(&path.as_str()),
                "{method} {path}"
            );
        }
    }
    let count = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operation ids repeat");
}
