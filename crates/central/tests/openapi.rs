//! The OpenAPI file lists exactly the routes the server answers.

use std::collections::BTreeSet;

fn openapi_routes(text: &str) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut in_paths = false;
    let mut current_path: Option<String> = None;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_paths = line.trim_end() == "paths:";
            current_path = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(path) = line.strip_prefix("  /") {
            current_path = Some(format!("/{}", path.trim_end().trim_end_matches(':')));
        } else if let (Some(path), Some(rest)) = (&current_path, line.strip_prefix("    ")) {
            let key = rest.trim_end().trim_end_matches(':');
            if !rest.starts_with(' ')
                && ["get", "put", "post", "delete", "patch", "head", "options"].contains(&key)
            {
                routes.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn every_server_route_is_documented_and_every_documented_route_exists() {
    let text = include_str!("../openapi.yaml");
    assert!(text.starts_with("openapi: 3."), "not an OpenAPI 3 document");
    let documented = openapi_routes(text);
    let served: BTreeSet<(String, String)> = central::http::ROUTES
        .iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert_eq!(documented, served);
}
