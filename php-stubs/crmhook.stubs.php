<?php

// Stubs for crmhook

namespace {
    /**
     * Checks a CRM `api_url` before it is saved: `https://`, or plain `http://` only for
     * localhost and private network addresses (credentials travel in every request).
     *
     * @throws \ValueError naming what is wrong.
     *
     * @param string $api_url
     * @return void
     */
    function crmhook_check_api_url(string $api_url): void {}

    /**
     * The CRMs, slug → `slug`, `name` (as messages name it), `label` (as the settings screen lists
     * it), `meta_slug` (the `{meta_slug}_contact_id` / `{meta_slug}_tags` user meta keys),
     * `default_api_url` (null where the API is per account or site), `api_url_example`,
     * `credentials` (the `$crm` keys it reads, `api_url` first: key → `label`, `secret`, `required`),
     * `tags_as` (`ids` | `names`), `automation_rules` (the site registers ConvertKit/Kit rules),
     * `contact_id_pair` (null, or the name/value pair that carries the contact id), `rate_limit`
     * (documented calls per second), `wordpress` (runs on another WordPress site).
     *
     * The plugin's one source for these facts; labels are English, for the plugin to translate.
     *
     * @return array
     */
    function crmhook_crms(): array {}

    /**
     * Loads a contact from the CRM, normalized: `id`, `email`, `first_name`, `last_name`,
     * `fields` (CRM field id → text), `tags` (names for ActiveCampaign, ids elsewhere).
     *
     * `$crm`: `crm`, `api_url` (the CRM's public host by default, where it has one), and the
     * credentials: `api_key`, `api_secret` (ConvertKit v3), `username` + `password` (FluentCRM,
     * FunnelKit). Timeouts come from `crmhook.http_timeout`.
     *
     * @throws \CrmHook\CrmException 401 bad credentials, 404 not found (or deleted), 429 rate
     * limited, 502 a bad answer, 504 timeout; the message names the CRM and the step.
     *
     * @param array $crm
     * @param mixed $contact_id
     * @return array
     */
    function crmhook_fetch_contact(array $crm, mixed $contact_id): array {}

    /**
     * The id of the CRM contact with this email, or null when there is none.
     *
     * @throws \CrmHook\CrmException
     *
     * @param array $crm
     * @param string $email
     * @return string|null
     */
    function crmhook_find_contact(array $crm, string $email): ?string {}

    /**
     * A new access key: 32 letters and digits (190 bits) from the OS CSPRNG, URL-safe.
     *
     * @return string
     */
    function crmhook_generate_access_key(): string {}

    /**
     * A new password of letters and digits (at least one upper-case, one lower-case, one digit),
     * from the OS CSPRNG. `$length` is 8 to 256.
     *
     * @param int $length
     * @return string
     */
    function crmhook_generate_password(int $length = 24): string {}

    /**
     * The fast lane's memo for this site in this PHP process (keyed by `crmhook.lane_config`), or
     * null when there is none: what the lane entry last read from the site's database, kept from one
     * webhook to the next. Only the lane entry uses it; see docs/fast-lane.md.
     *
     * @return string|null
     */
    function crmhook_lane_memo(): ?string {}

    /**
     * Keeps `$memo` as the fast lane's memo for this site in this PHP process (an empty string
     * forgets it). False when `crmhook.lane_config` is not set or the memo is over 64 KiB.
     *
     * @param string $memo
     * @return bool
     */
    function crmhook_lane_remember(string $memo): bool {}

    /**
     * The fast lane as this PHP sees it (docs/fast-lane.md): `enabled` (`crmhook.lane`), `entry`
     * (`crmhook.lane_entry`) and `entry_found`, `config` (`crmhook.lane_config`), `this_request`
     * (this request was handed to the lane entry) and `prepend` (the site's own `auto_prepend_file`,
     * which the lane entry includes first; null when there is none).
     *
     * @return array
     */
    function crmhook_lane_status(): array {}

    /**
     * One page of the contacts that carry a tag, for a bulk import:
     * `['contacts' => [['id' => string, 'email' => ?string], …], 'next' => ?string, 'total' => ?int]`.
     *
     * Pass `$cursor = null` for the first page, then each answer's `next` until it is null. The
     * cursor is opaque (an offset or page number for most CRMs, the CRM's own token for Kit and
     * Keap): only pass back one this function returned. `total` is how many contacts carry the tag
     * in all where the CRM says (null for Keap, for Kit after the first page, and for FunnelKit
     * when its answer has no count).
     * `email` is null where the listing does not name it (ConvertKit v3): load the contact for it.
     * Pages hold up to 100 contacts (ConvertKit v3: 50).
     *
     * @throws \CrmHook\CrmException 401, 404 (no such tag, where the CRM says so), 429, 502, 504;
     * a \ValueError for a tag id that is not digits or a cursor this function did not return.
     *
     * @param array $crm
     * @param mixed $tag_id
     * @param string|null $cursor
     * @return array
     */
    function crmhook_list_contacts_by_tag(array $crm, mixed $tag_id, ?string $cursor = null): array {}

    /**
     * The fields a contact can be written to, field → label, where the CRM can tell: FluentCRM's
     * columns and defined custom fields (it silently drops any other key). Null for the CRMs whose
     * writes need no such check. *Test connection* uses it to catch a return-password field that
     * would never reach the CRM.
     *
     * @throws \CrmHook\CrmException
     *
     * @param array $crm
     * @return array|null
     */
    function crmhook_list_fields(array $crm): ?array {}

    /**
     * Every tag of the CRM account, id → name, for the settings screen.
     *
     * @throws \CrmHook\CrmException
     *
     * @param array $crm
     * @return array
     */
    function crmhook_list_tags(array $crm): array {}

    /**
     * Turns a normalized CRM contact into a user plan: `op` (`create` | `update`), `user` (the
     * `wp_insert_user` / `wp_update_user` fields), `meta`, `tags`, `password_generated`,
     * `return_password` (null or `['field' => …, 'value' => …]`) and `notices`.
     *
     * `$contact`: `id`, `email`, `first_name`, `last_name`, `fields`, `tags`.
     * `$options`: `field_map`, `username_format` (`email` | `flname` | `fnamenum`), `default_role`,
     * `allowed_roles`, `requested_role`, `return_password_field`, `roles` (slug → capabilities),
     * `privileged_capabilities` (capabilities the site adds to crmhook_privileged_capabilities()),
     * `update_existing_passwords` (bool: a mapped password field may change the password of a user
     * the site did not create from this contact; off by default).
     * `$user`: null, or `ID`, `user_login`, `user_email`, `roles`, `privileged`,
     * `created_from_contact` (bool: the site created this user from this contact).
     *
     * @throws \CrmHook\WebhookException (code 422) when a new user cannot be made (no email), or
     * (code 409) when the user is privileged: a webhook never changes such a user.
     *
     * @param array $contact
     * @param array $options
     * @param array|null $user
     * @return array
     */
    function crmhook_map_contact(array $contact, array $options, ?array $user = null): array {}

    /**
     * Parses and authenticates a CRM webhook request.
     *
     * `$request`: `method`, `query` (raw query string), `body` (raw body), `content_type`,
     * `headers` (lower-case names → values), optional `form` (`$_POST`, for multipart bodies).
     * `$settings`: `crm`, `access_key`, optional `max_body_bytes`, optional `fields`.
     *
     * The access key is checked first (query, form body, JSON body or `X-Crmhook-Key` header).
     * `$settings['fields'] = true` also returns `fields`, the contact fields the payload carried
     * (CRM field id → text); without it they are left out, as the plugin reads none and a payload
     * can carry hundreds.
     * Returns `action`, `crm`, `contact_id`, `email`, `tags` (null when the payload has none),
     * `fields` (only when asked for), `role`, `send_notification`, `async` (null/true/false),
     * `initiated_from`.
     *
     * @throws \CrmHook\WebhookException whose code is the HTTP status to answer with.
     *
     * @param array $request
     * @param array $settings
     * @return array
     */
    function crmhook_parse_webhook(array $request, array $settings): array {}

    /**
     * The capabilities that make a user privileged: a webhook never grants a role that carries one,
     * and never changes a user who holds one. The plugin may add to this list (never remove).
     *
     * @return array
     */
    function crmhook_privileged_capabilities(): array {}

    /**
     * Registers a ConvertKit or Kit automation rule: on `$event` the CRM calls `$target_url`.
     * Returns the rule id. Tag events (`subscriber.tag_add`, `subscriber.tag_remove`) need the
     * `$tag_id`; events about the subscriber alone (`subscriber.subscriber_unsubscribe`) take `''`.
     *
     * @throws \CrmHook\CrmException
     *
     * @param array $crm
     * @param string $event
     * @param mixed $tag_id
     * @param string $target_url
     * @return string
     */
    function crmhook_register_webhook(array $crm, string $event, mixed $tag_id, string $target_url): string {}

    /**
     * Removes a tag from a ConvertKit or Kit subscriber (the update tag after an `update`
     * webhook, so the rule can fire again).
     *
     * @throws \CrmHook\CrmException
     *
     * @param array $crm
     * @param mixed $contact_id
     * @param mixed $tag_id
     * @return void
     */
    function crmhook_remove_tag(array $crm, mixed $contact_id, mixed $tag_id): void {}

    /**
     * Deletes a ConvertKit or Kit automation rule.
     *
     * @throws \CrmHook\CrmException
     *
     * @param array $crm
     * @param mixed $rule_id
     * @return void
     */
    function crmhook_unregister_webhook(array $crm, mixed $rule_id): void {}

    /**
     * Writes fields (CRM field id → value) to a contact: the returned password, the username.
     *
     * @throws \CrmHook\CrmException
     *
     * @param array $crm
     * @param mixed $contact_id
     * @param array $fields
     * @return void
     */
    function crmhook_update_contact(array $crm, mixed $contact_id, array $fields): void {}

    /**
     * The username formats of new users, slug → `label`, `description`, `example` (the login the
     * format makes for John Smith, john.smith@example.com). The slugs are the values of
     * `crmhook_map_contact()`'s `$options['username_format']`.
     *
     * @return array
     */
    function crmhook_username_formats(): array {}

    /**
     * Compares an access key with the expected one in constant time. False when either is empty.
     *
     * @param string $given
     * @param string $expected
     * @return bool
     */
    function crmhook_verify_access_key(string $given, string $expected): bool {}
}

namespace CrmHook {
    /**
     * A webhook request was refused. The code is the HTTP status to answer with
     * (400 malformed, 403 bad access key, 413 body too large, 422 no contact id or an
     * unusable contact, 500 an internal error); the message is written for the site owner
     * and never contains a secret.
     */
    class WebhookException extends \RuntimeException {}

    /**
     * A call to the CRM's API failed. The code is HTTP-like (401 bad credentials, 404 contact
     * not found, 429 rate limited, 502 a bad answer, 504 timeout); the message names the CRM
     * and the step that failed, and never contains a credential.
     */
    class CrmException extends \RuntimeException {}
}
