<?php
/**
 * What each emulated CRM provides: its auth check and refusal, its API routes, and its webhook
 * wire format. One file per CRM beside this one.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

interface Crm
{
    /** Whether the request carries this CRM's credentials. */
    public function authorized(Request $request, array $credentials): bool;

    /** The CRM's real answer to wrong or missing credentials (`$crm`: this CRM's state). */
    public function refused(Request $request, array $crm): Answer;

    /**
     * Answers an API call. `$crm` is this CRM's part of the state (tags, contacts, rules),
     * changed in place by writes.
     */
    public function route(Request $request, array &$crm, array &$state): Answer;

    /**
     * The webhook this CRM sends for a contact: method, URL query parameters, body, content type.
     *
     * @param array<string, string> $contract wpf_action, access_key and options (send_notification, role…)
     * @return array{method: string, query: array<string, string>, body: ?string, content_type: ?string}
     */
    public function webhook(string $id, array $contact, array $tagNames, array $contract, string $method): array;
}

/** WordPress's application passwords: HTTP Basic with a user and its password. */
function wordpress_basic_auth(Request $request, array $credentials): bool
{
    $given = $request->basic();
    return $given !== null && hash_equals($credentials['username'], $given[0]) && hash_equals($credentials['password'], $given[1]);
}

/** WordPress's REST answer to missing or wrong credentials. */
function wordpress_forbidden(): Answer
{
    return Answer::json(401, ['code' => 'rest_forbidden', 'message' => 'Sorry, you are not allowed to do that.', 'data' => ['status' => 401]]);
}

/** The common "not found" for a missing contact id. */
function missing(array $crm, string $id): bool
{
    return !isset($crm['contacts'][$id]);
}

require_once __DIR__ . '/activecampaign.php';
require_once __DIR__ . '/convertkit.php';
require_once __DIR__ . '/fluentcrm.php';
require_once __DIR__ . '/funnelkit.php';
require_once __DIR__ . '/keap.php';
require_once dirname(__DIR__) . '/webhooks.php';

/** The CRM behind a slug. */
function crm(string $slug): Crm
{
    return match ($slug) {
        'activecampaign' => new ActiveCampaign(),
        'convertkit' => new ConvertKit(false),
        'kit' => new ConvertKit(true),
        'fluentcrm' => new FluentCrm(),
        'funnelkit' => new FunnelKit(),
        'keap' => new Keap(),
    };
}
