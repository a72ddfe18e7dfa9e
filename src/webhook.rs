//! A raw HTTP request → [`Webhook`]: the action, the contact id and the URL contract's
//! parameters, read from whichever wire format the CRM uses.
//!
//! The order matters and is the point of this module: the access key is checked **first**,
//! before anything in the payload is interpreted or reported on, so a caller without the key
//! learns nothing but "403". Only then is the body's format held against the caller.

use std::borrow::Cow;

use crate::access::verify_access_key;
use crate::crm::{Crm, JsonBody, Payload};
use crate::error::WebhookError;
use crate::form::{Form, FormError};
use crate::text::{check_contact_id, check_email, check_no_nul, check_role, echo, has_nul, parse_bool, trim};

/// Default limit on the request body: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The raw request, as the plugin hands it over.
#[derive(Debug, Default, Clone)]
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The raw query string, still percent-encoded.
    pub query: &'a [u8],
    /// The raw body.
    pub body: &'a [u8],
    /// The `Content-Type` header.
    pub content_type: &'a str,
    /// The `X-Crmhook-Key` header, if sent.
    pub key_header: Option<&'a [u8]>,
    /// PHP's `$_POST`, for multipart bodies, whose raw body PHP does not keep.
    pub form: Option<Form<'a>>,
}

/// What the site is configured with.
#[derive(Debug, Clone)]
pub struct Settings<'a> {
    /// The CRM whose wire format to expect.
    pub crm: Crm,
    /// The site's access key; empty refuses every request.
    pub access_key: &'a str,
    /// The largest body accepted.
    pub max_body_bytes: usize,
}

/// What the CRM asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Check the URL and key; nothing else happens.
    Test,
    /// Create the user, or update them if they exist.
    Add,
    /// Reload tags and mapped fields.
    Update,
    /// Reload tags.
    UpdateTags,
    /// A ConvertKit subscriber unsubscribed (the `subscriber.subscriber_unsubscribe` rule the site
    /// registers through API v3 calls `?wpf_action=ck_unsubscribed`).
    CkUnsubscribed,
    /// A Kit subscriber unsubscribed (the same rule, registered through API v4, calls
    /// `?wpf_action=kit_unsubscribed`).
    KitUnsubscribed,
}

impl Action {
    /// Every action, in the order the messages list them.
    pub const ALL: [Action; 6] =
        [Action::Test, Action::Add, Action::Update, Action::UpdateTags, Action::CkUnsubscribed, Action::KitUnsubscribed];

    /// Reads `wpf_action`, case-insensitively, from the allow-list.
    pub fn parse(raw: &str) -> Result<Action, WebhookError> {
        let v = trim(raw);
        // The lower-case spelling the URLs use, matched whole; other cases by the table.
        let exact = match v {
            "test" => Some(Action::Test),
            "add" => Some(Action::Add),
            "update" => Some(Action::Update),
            "update_tags" => Some(Action::UpdateTags),
            "ck_unsubscribed" => Some(Action::CkUnsubscribed),
            "kit_unsubscribed" => Some(Action::KitUnsubscribed),
            _ => None,
        };
        if let Some(action) = exact {
            return Ok(action);
        }
        Action::ALL.into_iter().find(|action| v.eq_ignore_ascii_case(action.as_str())).ok_or_else(|| WebhookError::UnknownAction(echo(v)))
    }

    /// Whether a site configured for `crm` answers this action. The unsubscribe actions come only
    /// from the automation rule a ConvertKit or Kit site registers; either name is taken from
    /// either, as ConvertKit and Kit are one account behind two API versions (a rule registered
    /// through v3 keeps calling `ck_unsubscribed` after the site moves to v4).
    pub fn is_for(self, crm: Crm) -> bool {
        match self {
            Action::CkUnsubscribed | Action::KitUnsubscribed => matches!(crm, Crm::ConvertKit | Crm::Kit),
            Action::Test | Action::Add | Action::Update | Action::UpdateTags => true,
        }
    }

    /// True for `ck_unsubscribed` and `kit_unsubscribed`.
    pub fn is_unsubscribe(self) -> bool {
        matches!(self, Action::CkUnsubscribed | Action::KitUnsubscribed)
    }

    /// The name as it appears in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Test => "test",
            Action::Add => "add",
            Action::Update => "update",
            Action::UpdateTags => "update_tags",
            Action::CkUnsubscribed => "ck_unsubscribed",
            Action::KitUnsubscribed => "kit_unsubscribed",
        }
    }
}

/// A parsed, authenticated webhook.
///
/// The tags are `T`: owned `String`s from [`parse_webhook`], `Cow`s lent from the decoded
/// request by [`parse_webhook_lent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook<T = String> {
    /// What to do.
    pub action: Action,
    /// The CRM it came from.
    pub crm: Crm,
    /// The CRM contact id; always set except for `test`.
    pub contact_id: Option<String>,
    /// The contact's email, from the `email` parameter or the payload.
    pub email: Option<String>,
    /// Tags carried by the payload (`None` when the payload has none; then they are loaded).
    pub tags: Option<Vec<T>>,
    /// Contact fields present in the payload.
    pub fields: Vec<(String, String)>,
    /// The requested role (whether it may be granted is the plan's decision).
    pub role: Option<String>,
    /// Whether to send WordPress's new-user email.
    pub send_notification: bool,
    /// `async=true|false` when given.
    pub run_async: Option<bool>,
    /// Where the change came from, when the CRM says (ActiveCampaign's `initiated_from`).
    pub initiated_from: Option<String>,
}

/// The body, read once in its format. Errors wait until the key has been checked.
///
/// A JSON body is boxed: it is a large struct (a field per parameter and payload part, ~600
/// bytes), and unboxed it was copied whole at each step from the reader to the payload (eight
/// copies, 7 % of a small JSON webhook); one allocation costs less than one of them.
enum Body<'a> {
    Empty,
    Form(Result<Form<'a>, FormError>),
    Json(Result<Box<JsonBody<'a>>, String>),
}

/// Parses and authenticates a webhook request.
///
/// ```
/// use crmhook::crm::Crm;
/// use crmhook::webhook::{parse_webhook, Action, Request, Settings};
///
/// let request = Request {
///     method: "POST",
///     query: b"wpf_action=add&access_key=s3cret",
///     body: b"contactId=42",
///     content_type: "application/x-www-form-urlencoded",
///     ..Request::default()
/// };
/// let settings = Settings { crm: Crm::Keap, access_key: "s3cret", max_body_bytes: 1 << 20 };
/// let hook = parse_webhook(&request, &settings).unwrap();
/// assert_eq!(hook.action, Action::Add);
/// assert_eq!(hook.contact_id.as_deref(), Some("42"));
/// ```
pub fn parse_webhook(request: &Request<'_>, settings: &Settings<'_>) -> Result<Webhook, WebhookError> {
    parse_webhook_with_fields(request, settings, true)
}

/// [`parse_webhook`], and with `with_fields` false the payload's custom fields are checked as
/// always but not copied into [`Webhook::fields`] (which may then be empty): the plugin reads
/// none, and FluentCRM can send hundreds. Every other answer, and every refusal, is the same.
pub fn parse_webhook_with_fields(request: &Request<'_>, settings: &Settings<'_>, with_fields: bool) -> Result<Webhook, WebhookError> {
    parse_webhook_lent(request, settings, with_fields, |hook| hook.into_owned())
}

/// [`parse_webhook_with_fields`], the webhook handed to `answer` while the decoded request is
/// still alive: its tags may be slices of it, so a list of 1,000 is read without a copy per
/// tag. The answer, or the same refusal as [`parse_webhook_with_fields`]'s.
///
/// ```
/// use crmhook::crm::Crm;
/// use crmhook::webhook::{parse_webhook_lent, Request, Settings};
///
/// let request = Request {
///     method: "POST",
///     query: b"wpf_action=update_tags&access_key=s3cret",
///     body: b"contact[id]=7&contact[tags]=VIP%2C+Gold",
///     content_type: "application/x-www-form-urlencoded",
///     ..Request::default()
/// };
/// let settings = Settings { crm: Crm::ActiveCampaign, access_key: "s3cret", max_body_bytes: 1 << 20 };
/// let tags = parse_webhook_lent(&request, &settings, false, |hook| hook.tags.map(|t| t.join("|"))).unwrap();
/// assert_eq!(tags.as_deref(), Some("VIP|Gold"));
/// ```
pub fn parse_webhook_lent<R>(
    request: &Request<'_>,
    settings: &Settings<'_>,
    with_fields: bool,
    answer: impl for<'p> FnOnce(Webhook<Cow<'p, str>>) -> R,
) -> Result<R, WebhookError> {
    parse_authenticated(request, settings, with_fields, answer).map_err(|e| e.redact(settings.access_key))
}

impl Webhook<Cow<'_, str>> {
    /// The same webhook with its tags copied out.
    pub fn into_owned(self) -> Webhook {
        Webhook {
            action: self.action,
            crm: self.crm,
            contact_id: self.contact_id,
            email: self.email,
            tags: self.tags.map(|tags| tags.into_iter().map(Cow::into_owned).collect()),
            fields: self.fields,
            role: self.role,
            send_notification: self.send_notification,
            run_async: self.run_async,
            initiated_from: self.initiated_from,
        }
    }
}

/// A decoded text as bytes, still borrowed when it was.
fn cow_bytes(text: Cow<'_, str>) -> Cow<'_, [u8]> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// The last `access_key` of a form: from the parsed pairs when the whole form decoded (one pass
/// for both), else read leniently around the pairs that did not (see [`Form::lookup`]).
fn form_key<'p>(parsed: &'p Result<Form<'_>, FormError>, raw: &'p [u8]) -> Option<Cow<'p, [u8]>> {
    match parsed {
        Ok(form) => form.get("access_key").map(|k| Cow::Borrowed(k.as_bytes())),
        Err(_) => Form::lookup(raw, "access_key").map(cow_bytes),
    }
}

fn parse_authenticated<R>(
    request: &Request<'_>,
    settings: &Settings<'_>,
    with_fields: bool,
    answer: impl for<'p> FnOnce(Webhook<Cow<'p, str>>) -> R,
) -> Result<R, WebhookError> {
    if trim(settings.access_key).is_empty() {
        return Err(WebhookError::NoAccessKeyConfigured);
    }
    let expected = settings.access_key.as_bytes();

    // A key in the header or the query string is judged before anything else, even before the
    // body's size; a key that can only be in the body is looked for once the body is read.
    // An empty header is no key: code that forwards `$_SERVER['HTTP_X_CRMHOOK_KEY'] ?? ''` must
    // not shadow the key in the URL.
    let query = Form::parse(request.query);
    let early_key: Option<Cow<'_, [u8]>> = match request.key_header.filter(|header| !header.is_empty()) {
        Some(header) => Some(Cow::Borrowed(header)),
        None => form_key(&query, request.query),
    };
    if let Some(given) = &early_key {
        if !verify_access_key(given, expected) {
            return Err(WebhookError::BadAccessKey);
        }
    }
    if request.body.len() > settings.max_body_bytes {
        return Err(WebhookError::BodyTooLarge { size: request.body.len(), limit: settings.max_body_bytes });
    }

    let body = read_body(request);
    if early_key.is_none() {
        let given: Option<Cow<'_, [u8]>> = match &body {
            Body::Form(form) => form_key(form, request.body),
            Body::Json(Ok(j)) => j.access_key.as_ref().map(|k| Cow::Borrowed(k.as_str().as_bytes())),
            _ => None,
        }
        .or_else(|| request.form.as_ref().and_then(|f| f.get("access_key")).map(|k| Cow::Borrowed(k.as_bytes())));
        if !verify_access_key(given.as_deref().unwrap_or(b""), expected) {
            return Err(WebhookError::BadAccessKey);
        }
    }

    // Authenticated: from here on, say exactly what is wrong with the request.
    let query = query.map_err(|e| WebhookError::MalformedBody { format: "query string", reason: e.to_string() })?;
    let (body_form, json) = match body {
        Body::Empty => (request.form.clone(), None),
        Body::Form(form) => (Some(form.map_err(|e| WebhookError::MalformedBody { format: "form", reason: e.to_string() })?), None),
        Body::Json(json) => (None, Some(json.map_err(|reason| WebhookError::MalformedBody { format: "JSON", reason })?)),
    };
    let params = Params { query: &query, form: body_form.as_ref(), json: json.as_deref() };

    let action = Action::parse(&params.get("wpf_action").ok_or(WebhookError::MissingAction)?)?;
    let crm = settings.crm;
    if !action.is_for(crm) {
        return Err(WebhookError::ActionNotForCrm { action: action.as_str(), crm });
    }
    if action == Action::Test {
        return Ok(answer(Webhook {
            action,
            crm,
            contact_id: None,
            email: None,
            tags: None,
            fields: Vec::new(),
            role: None,
            send_notification: false,
            run_async: None,
            initiated_from: None,
        }));
    }

    let contract_id = params.get("contact_id").or_else(|| params.get("contactId")).map(Cow::into_owned);
    let contract_email = params.get("email").map(Cow::into_owned);
    let role = params.get("role").filter(|r| !trim(r).is_empty()).map(|r| check_role(&r)).transpose()?;
    let send_notification = params.get("send_notification").map(|v| parse_bool("send_notification", &v)).transpose()?.unwrap_or(false);
    let run_async = params.get("async").map(|v| parse_bool("async", &v)).transpose()?;

    let mut payload = match (&body_form, json) {
        (Some(form), _) => crm.payload_from_form(form)?,
        (None, Some(json)) => crm.payload_from_json(*json, with_fields)?.lent(),
        (None, None) => Payload::default(),
    };

    let contact_id =
        contract_id.or(payload.contact_id.take()).ok_or(WebhookError::MissingContactId { crm, hint: crm.contact_id_hint() })?;
    let contact_id = check_contact_id(crm, &contact_id)?;
    let email = contract_email.or(payload.email.take()).filter(|e| !trim(e).is_empty()).map(|e| check_email(&e)).transpose()?;
    for (key, value) in &payload.fields {
        check_no_nul("field", key)
            .and(check_no_nul("field", value))
            .map_err(|_| WebhookError::invalid("field", format!("\"{}\" contains a NUL byte", echo(key))))?;
    }
    if let Some(tags) = &payload.tags {
        if tags.iter().any(|t| has_nul(t)) {
            return Err(WebhookError::invalid("tags", "a tag contains a NUL byte"));
        }
    }

    Ok(answer(Webhook {
        action,
        crm,
        contact_id: Some(contact_id),
        email,
        tags: payload.tags,
        fields: payload.fields,
        role,
        send_notification,
        run_async,
        initiated_from: payload.initiated_from,
    }))
}

/// The URL contract's parameters, looked up in the query string, then the body.
struct Params<'p, 'a> {
    query: &'p Form<'a>,
    form: Option<&'p Form<'a>>,
    json: Option<&'p JsonBody<'a>>,
}

impl<'p> Params<'p, '_> {
    fn get(&self, name: &str) -> Option<Cow<'p, str>> {
        if let Some(v) = self.query.get(name) {
            return Some(Cow::Borrowed(v));
        }
        if let Some(v) = self.form.and_then(|f| f.get(name)) {
            return Some(Cow::Borrowed(v));
        }
        let json = self.json?;
        let text = match name {
            "wpf_action" => &json.wpf_action,
            "contact_id" => &json.contact_id,
            "contactId" => &json.contact_id_camel,
            "email" => &json.email,
            "role" => &json.role,
            "send_notification" => &json.send_notification,
            "async" => &json.run_async,
            _ => return None,
        };
        text.as_ref().map(|t| Cow::Borrowed(t.as_str()))
    }
}

fn read_body<'a>(request: &Request<'a>) -> Body<'a> {
    let method = trim(request.method);
    if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
        return Body::Empty;
    }
    let body = request.body;
    let Some(first) = body.iter().position(|b| !b.is_ascii_whitespace()) else { return Body::Empty };
    let essence = trim(request.content_type.split(';').next().unwrap_or(""));
    let is = |name: &str| essence.eq_ignore_ascii_case(name);
    let suffix = essence.len().checked_sub(5).and_then(|at| essence.as_bytes().get(at..)).unwrap_or_default();
    let is_json = if is("application/json") || is("text/json") || suffix.eq_ignore_ascii_case(b"+json") {
        true
    } else if is("application/x-www-form-urlencoded") {
        false
    } else {
        // No or a vague content type: CRMs are not always precise, so look at the body.
        matches!(body[first], b'{' | b'[')
    };
    if is_json {
        Body::Json(parse_json(&body[first..]))
    } else {
        Body::Form(Form::parse(body))
    }
}

fn parse_json(body: &[u8]) -> Result<Box<JsonBody<'_>>, String> {
    if body.first() != Some(&b'{') {
        return Err("expected a JSON object".to_owned());
    }
    // serde_json limits nesting to 128 levels, so a deeply nested body is an error, not a
    // stack overflow; invalid UTF-8 and trailing garbage are errors too.
    // A body that is UTF-8 as a whole is checked once, here, and read as text: serde_json then
    // checks no string again (its byte reader checks each one, a fifth of a FluentCRM webhook with
    // 500 custom values). A body that is not goes to the byte reader, for the same error.
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str::<Box<JsonBody<'_>>>(text),
        Err(_) => serde_json::from_slice::<Box<JsonBody<'_>>>(body),
    }
    .map_err(|e| json_error(&e))
}

/// serde_json's error in plain words, without the payload text it quotes (`invalid type:
/// string "…"` would copy whatever sat there — the access key, or megabytes — into the answer).
fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        // Syntax messages name what was expected, never the input ("trailing characters at …").
        Category::Eof | Category::Syntax | Category::Io => e.to_string(),
        Category::Data => {
            let full = e.to_string();
            let what = full.split(" at line ").next().unwrap_or(&full);
            // Keep serde's words, drop anything it quotes from the input.
            let mut words = String::new();
            let mut quoted = false;
            for c in what.chars() {
                match c {
                    '"' if !quoted => {
                        quoted = true;
                        words.push_str("a value");
                    }
                    '"' => quoted = false,
                    c if !quoted => words.push(c),
                    _ => {}
                }
            }
            let words: String = words.chars().take(120).collect();
            format!("{words} ({at})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k3y-0123456789abcdef";

    fn settings(crm: Crm) -> Settings<'static> {
        Settings { crm, access_key: KEY, max_body_bytes: DEFAULT_MAX_BODY_BYTES }
    }

    fn get(crm: Crm, query: &str) -> Result<Webhook, WebhookError> {
        let request = Request { method: "GET", query: query.as_bytes(), ..Request::default() };
        parse_webhook(&request, &settings(crm))
    }

    fn post(crm: Crm, query: &str, content_type: &str, body: &str) -> Result<Webhook, WebhookError> {
        let request = Request { method: "POST", query: query.as_bytes(), body: body.as_bytes(), content_type, ..Request::default() };
        parse_webhook(&request, &settings(crm))
    }

    #[test]
    fn test_action_needs_only_the_key() {
        let hook = get(Crm::ActiveCampaign, &format!("wpf_action=test&access_key={KEY}")).unwrap();
        assert_eq!(hook.action, Action::Test);
        assert_eq!(hook.contact_id, None);
    }

    #[test]
    fn actions_are_case_insensitive_and_allow_listed() {
        let hook = get(Crm::Keap, &format!("wpf_action=UPDATE_TAGS&access_key={KEY}&contact_id=5")).unwrap();
        assert_eq!(hook.action, Action::UpdateTags);
        let err = get(Crm::Keap, &format!("wpf_action=delete&access_key={KEY}&contact_id=5")).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(get(Crm::Keap, &format!("access_key={KEY}")).unwrap_err(), WebhookError::MissingAction);
    }

    #[test]
    fn convertkit_and_kit_unsubscribes_are_read_from_the_rules_json() {
        let body = r#"{"subscriber":{"id":1001,"first_name":"Ann","email_address":"ann@example.com","state":"cancelled","fields":{}}}"#;
        for crm in [Crm::ConvertKit, Crm::Kit] {
            for (action, want) in [("ck_unsubscribed", Action::CkUnsubscribed), ("kit_unsubscribed", Action::KitUnsubscribed)] {
                let hook = post(crm, &format!("wpf_action={action}&access_key={KEY}"), "application/json", body).unwrap();
                assert_eq!(hook.action, want, "{crm} {action}");
                assert_eq!(hook.action.as_str(), action);
                assert!(hook.action.is_unsubscribe());
                assert_eq!(hook.contact_id.as_deref(), Some("1001"));
                assert_eq!(hook.email.as_deref(), Some("ann@example.com"));
            }
        }
        let hook =
            post(Crm::Kit, &format!("wpf_action=KIT_Unsubscribed&access_key={KEY}"), "application/json", r#"{"subscriber_id":7}"#).unwrap();
        assert_eq!(hook.action, Action::KitUnsubscribed, "case-insensitive, like every action");
    }

    #[test]
    fn an_unsubscribe_needs_the_subscriber_id() {
        let err = post(Crm::Kit, &format!("wpf_action=kit_unsubscribed&access_key={KEY}"), "application/json", r#"{"subscriber":{}}"#)
            .unwrap_err();
        assert_eq!(err.status(), 422, "{err}");
    }

    #[test]
    fn unsubscribe_actions_are_400_for_the_other_crms() {
        for crm in [Crm::ActiveCampaign, Crm::FluentCrm, Crm::FunnelKit, Crm::Keap] {
            for action in ["ck_unsubscribed", "kit_unsubscribed"] {
                let err = get(crm, &format!("wpf_action={action}&access_key={KEY}&contact_id=5")).unwrap_err();
                assert_eq!(err, WebhookError::ActionNotForCrm { action, crm });
                assert_eq!(err.status(), 400);
                assert!(err.to_string().contains("only for ConvertKit and Kit"), "{err}");
            }
        }
        // The key is still judged first: a wrong one learns nothing about the action.
        let err = get(Crm::Keap, "wpf_action=ck_unsubscribed&access_key=nope&contact_id=5").unwrap_err();
        assert_eq!(err, WebhookError::BadAccessKey);
    }

    #[test]
    fn unknown_actions_stay_400_and_name_the_known_ones() {
        for action in ["unsubscribe", "ck_unsubscribe", "kit_unsubscribed2", "unsubscribed"] {
            let err = get(Crm::Kit, &format!("wpf_action={action}&access_key={KEY}&contact_id=5")).unwrap_err();
            assert_eq!(err.status(), 400, "{action}");
            assert!(matches!(err, WebhookError::UnknownAction(_)), "{action}: {err:?}");
            assert!(err.to_string().contains("kit_unsubscribed"), "{err}");
        }
    }

    #[test]
    fn action_names_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Ok(action));
        }
    }

    #[test]
    fn wrong_missing_or_unconfigured_key_is_403() {
        assert_eq!(get(Crm::Keap, "wpf_action=test&access_key=nope").unwrap_err(), WebhookError::BadAccessKey);
        assert_eq!(get(Crm::Keap, "wpf_action=test").unwrap_err(), WebhookError::BadAccessKey);
        let open = Settings { crm: Crm::Keap, access_key: "", max_body_bytes: 10 };
        let request = Request { method: "GET", query: b"wpf_action=test&access_key=", ..Request::default() };
        assert_eq!(parse_webhook(&request, &open).unwrap_err(), WebhookError::NoAccessKeyConfigured);
    }

    #[test]
    fn the_key_is_checked_before_the_body_is_judged() {
        let err = post(Crm::FluentCrm, "wpf_action=add&access_key=wrong", "application/json", "{broken").unwrap_err();
        assert_eq!(err, WebhookError::BadAccessKey);
        let err = post(Crm::FluentCrm, &format!("wpf_action=add&access_key={KEY}"), "application/json", "{broken").unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn an_empty_key_header_is_no_key_and_never_shadows_the_url() {
        let query = format!("wpf_action=test&access_key={KEY}");
        let request = Request { method: "GET", query: query.as_bytes(), key_header: Some(b""), ..Request::default() };
        assert!(parse_webhook(&request, &settings(Crm::Keap)).is_ok());
        let request = Request { method: "GET", query: b"wpf_action=test", key_header: Some(b""), ..Request::default() };
        assert_eq!(parse_webhook(&request, &settings(Crm::Keap)).unwrap_err(), WebhookError::BadAccessKey);
        let request = Request { method: "GET", query: query.as_bytes(), key_header: Some(b"wrong"), ..Request::default() };
        assert_eq!(parse_webhook(&request, &settings(Crm::Keap)).unwrap_err(), WebhookError::BadAccessKey, "a wrong header still loses");
    }

    #[test]
    fn the_key_may_come_from_a_header_a_form_or_json() {
        let request = Request { method: "GET", query: b"wpf_action=test", key_header: Some(KEY.as_bytes()), ..Request::default() };
        assert!(parse_webhook(&request, &settings(Crm::Keap)).is_ok());
        assert!(post(Crm::Keap, "", "application/x-www-form-urlencoded", &format!("wpf_action=test&access_key={KEY}")).is_ok());
        assert!(post(Crm::FunnelKit, "", "application/json", &format!(r#"{{"wpf_action":"test","access_key":"{KEY}"}}"#)).is_ok());
    }

    #[test]
    fn a_body_over_the_limit_is_413() {
        let request = Request { method: "POST", query: b"", body: &[b'a'; 11], ..Request::default() };
        let s = Settings { crm: Crm::Keap, access_key: KEY, max_body_bytes: 10 };
        assert_eq!(parse_webhook(&request, &s).unwrap_err().status(), 413);
    }

    #[test]
    fn missing_contact_id_is_422_with_the_crm_hint() {
        let err =
            post(Crm::ActiveCampaign, &format!("wpf_action=add&access_key={KEY}"), "application/x-www-form-urlencoded", "type=update")
                .unwrap_err();
        assert_eq!(err.status(), 422);
        assert!(err.to_string().contains("contact[id]"), "{err}");
    }

    #[test]
    fn query_contact_id_wins_over_the_payload() {
        let hook =
            post(Crm::FluentCrm, &format!("wpf_action=update&access_key={KEY}&contact_id=9"), "application/json", r#"{"id":55}"#).unwrap();
        assert_eq!(hook.contact_id.as_deref(), Some("9"));
    }

    #[test]
    fn booleans_role_and_async_are_read() {
        let hook =
            get(Crm::FunnelKit, &format!("wpf_action=add&access_key={KEY}&contact_id=3&send_notification=yes&role=Customer&async=false"))
                .unwrap();
        assert!(hook.send_notification);
        assert_eq!(hook.role.as_deref(), Some("customer"));
        assert_eq!(hook.run_async, Some(false));
        let err = get(Crm::FunnelKit, &format!("wpf_action=add&access_key={KEY}&contact_id=3&send_notification=sure")).unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn malformed_bodies_are_400() {
        let q = format!("wpf_action=add&access_key={KEY}");
        for (ct, body) in [
            ("application/json", "[1,2]"),
            ("application/json", r#"{"id": [1]}"#),
            ("application/json", r#"{"id": 1, "id": 2}"#),
            ("application/json", r#"{"id": 1} trailing"#),
            ("application/x-www-form-urlencoded", "contactId=%FF"),
        ] {
            let err = post(Crm::FluentCrm, &q, ct, body).unwrap_err();
            assert_eq!(err.status(), 400, "{body}: {err}");
        }
        let deep = "[".repeat(100_000);
        let err = post(Crm::FluentCrm, &q, "application/json", &format!(r#"{{"x":{deep}"#)).unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn a_right_key_is_found_next_to_a_broken_value() {
        let err = get(Crm::FunnelKit, &format!("wpf_action=add&access_key={KEY}&contact_id=5&role=%E9")).unwrap_err();
        assert_eq!(err.status(), 400, "{err}");
        let err = post(Crm::Keap, "", "application/x-www-form-urlencoded", &format!("access_key={KEY}&wpf_action=add&contactId=%FF"))
            .unwrap_err();
        assert_eq!(err.status(), 400, "{err}");
    }

    #[test]
    fn a_wrong_key_in_the_query_is_403_even_with_a_huge_body() {
        let body = vec![b'a'; 20];
        let request = Request { method: "POST", query: b"access_key=nope", body: &body, ..Request::default() };
        let s = Settings { crm: Crm::Keap, access_key: KEY, max_body_bytes: 10 };
        assert_eq!(parse_webhook(&request, &s).unwrap_err(), WebhookError::BadAccessKey);
    }

    #[test]
    fn the_key_never_appears_in_an_error_even_when_echoed() {
        // Found by the fuzzer: a broken parameter name that held the key was echoed back.
        let query = format!("wpf_action=add&access_key={KEY}&%FF{KEY}=1&contact_id=1");
        let err = get(Crm::Keap, &query).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(!err.to_string().contains(KEY), "{err}");
        let err = get(Crm::Keap, &format!("wpf_action={KEY}&access_key={KEY}")).unwrap_err();
        assert!(!err.to_string().contains(KEY), "{err}");
        // An echo cut at 40 characters must not leave a piece of the key either.
        let err = get(Crm::Keap, &format!("wpf_action=aaaaaaaaaaaaaaaaaaaaaaaaaaa{KEY}&access_key={KEY}")).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(!err.to_string().contains(&KEY[..8]), "{err}");
    }

    #[test]
    fn json_errors_never_quote_the_payload() {
        let q = format!("wpf_action=add&access_key={KEY}");
        let secret = "do-not-echo-this-text";
        let err = post(Crm::Kit, &q, "application/json", &format!(r#"{{"subscriber":"{secret}"}}"#)).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(err.to_string().contains("expected"), "{err}");
    }

    #[test]
    fn an_empty_json_body_is_no_body() {
        let hook = post(Crm::FunnelKit, &format!("wpf_action=add&access_key={KEY}&contact_id=1"), "application/json", "  ").unwrap();
        assert_eq!(hook.contact_id.as_deref(), Some("1"));
    }

    #[test]
    fn get_ignores_any_body() {
        let request = Request {
            method: "GET",
            query: format!("wpf_action=add&access_key={KEY}&contact_id=1").leak().as_bytes(),
            body: b"{bad",
            content_type: "application/json",
            ..Request::default()
        };
        assert!(parse_webhook(&request, &settings(Crm::FunnelKit)).is_ok());
    }
}
