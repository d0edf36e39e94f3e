//! The HTTP side: DeepDetect's routes, the bearer token check, the body
//! limit, and JSON bodies read into DeepDetect's errors when they are bad.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::Value;

use super::access::token_matches;
use super::dd::{DdError, answer};
use super::state::{Answer, AppState};

/// The router with every route, the token check and the body limit.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/info", get(info))
        .route(
            "/services/{name}",
            put(create_service).get(get_service).delete(delete_service),
        )
        .route(
            "/resources/{id}",
            put(create_resource)
                .get(get_resource)
                .delete(delete_resource),
        )
        .route("/predict", post(predict))
        .route(
            "/stream/{name}",
            put(create_stream).get(get_stream).delete(delete_stream),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            require_token,
        ))
        .with_state(state)
}

fn respond(result: Result<Answer, DdError>) -> Response {
    match result {
        Ok((code, head, body)) => answer(code, head, body),
        Err(e) => e.into_response(),
    }
}

/// Runs a blocking operation (GStreamer state changes, waiting for frames)
/// off the async threads.
async fn blocking<F>(operation: F) -> Response
where
    F: FnOnce() -> Result<Answer, DdError> + Send + 'static,
{
    match tokio::task::spawn_blocking(operation).await {
        Ok(result) => respond(result),
        Err(e) => DdError::internal(format!("the request's task failed: {e}")).into_response(),
    }
}

/// The request body as JSON, or DeepDetect's error for a body too large or malformed.
fn json_body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Value, DdError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            DdError::payload_too_large(limit)
        } else {
            DdError::bad_request(format!(
                "the request body cannot be read: {}",
                rejection.body_text()
            ))
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| DdError::bad_request(format!("malformed JSON in the request body: {e}")))
}

async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = &state.config.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match given {
            None => {
                return DdError::unauthorized(
                    "this server needs a token: send the header \"Authorization: Bearer TOKEN\"",
                )
                .into_response();
            }
            Some(given) if !token_matches(token.as_bytes(), given.trim().as_bytes()) => {
                return DdError::unauthorized("the bearer token is wrong").into_response();
            }
            Some(_) => {}
        }
    }
    next.run(request).await
}

async fn no_route(method: Method, uri: Uri) -> Response {
    DdError::not_found(format!(
        "no route {method} {}; the routes are /info, /services/NAME, /resources/ID, /predict, /stream/NAME",
        uri.path()
    ))
    .into_response()
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    DdError::method_not_allowed(format!("{} does not answer {method}", uri.path())).into_response()
}

async fn info(State(state): State<Arc<AppState>>) -> Response {
    respond(Ok(state.info()))
}

async fn create_service(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match json_body(body, state.config.max_body_bytes) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    blocking(move || state.create_service(&name, &body)).await
}

async fn get_service(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    respond(state.get_service(&name))
}

async fn delete_service(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    blocking(move || state.delete_service(&name)).await
}

async fn create_resource(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match json_body(body, state.config.max_body_bytes) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    respond(state.create_resource(&id, &body))
}

async fn get_resource(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    respond(state.get_resource(&id))
}

async fn delete_resource(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    blocking(move || state.delete_resource(&id)).await
}

async fn predict(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match json_body(body, state.config.max_body_bytes) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    blocking(move || state.predict(&body)).await
}

async fn create_stream(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match json_body(body, state.config.max_body_bytes) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    blocking(move || state.create_stream(&name, &body)).await
}

async fn get_stream(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    respond(state.get_stream(&name))
}

async fn delete_stream(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    blocking(move || state.delete_stream(&name)).await
}
