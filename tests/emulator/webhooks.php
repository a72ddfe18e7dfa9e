<?php
/**
 * Sends a CRM's webhook to a site, in that CRM's exact wire format, built from the contact as the
 * emulator holds it. Used by POST /_emulator/send and by send.php.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

/**
 * @param array{crm: string, action: string, url: string, key: string, contact: string|int, method?: string,
 *              send_notification?: string, role?: string, async?: string, email?: string} $o
 * @return array{status: int, body: string, request: array}
 */
function send_webhook(array $o): array
{
    foreach (['crm', 'action', 'url', 'key', 'contact'] as $required) {
        if (!isset($o[$required]) || $o[$required] === '') {
            throw new \InvalidArgumentException("missing $required");
        }
    }
    $slug = (string) $o['crm'];
    if (!in_array($slug, CRMS, true)) {
        throw new \InvalidArgumentException("unknown crm $slug");
    }
    $id = (string) $o['contact'];
    // An unsubscribe rule fires after the CRM has cancelled the subscriber: the emulator does the
    // same, so the webhook and the API both show the subscriber as ConvertKit/Kit then do.
    $unsubscribe = in_array($slug, ['convertkit', 'kit'], true) && str_ends_with((string) $o['action'], '_unsubscribed');
    [$contact, $tags] = with_state(static function (array &$state) use ($slug, $id, $unsubscribe): array {
        if ($unsubscribe && isset($state['crms'][$slug]['contacts'][$id])) {
            $state['crms'][$slug]['contacts'][$id]['state'] = 'cancelled';
        }
        $crm = $state['crms'][$slug];
        $c = $crm['contacts'][$id] ?? ['email' => '', 'first_name' => '', 'last_name' => '', 'phone' => '', 'fields' => [], 'tags' => []];
        return [$c, array_map(static fn ($t) => $crm['tags'][(string) $t] ?? (string) $t, $c['tags'])];
    });
    $contract = ['wpf_action' => (string) $o['action'], 'access_key' => (string) $o['key']];
    foreach (['send_notification', 'role', 'async', 'email', 'tags_loaded'] as $option) {
        if (isset($o[$option]) && $o[$option] !== '') {
            $contract[$option] = (string) $o[$option];
        }
    }
    $wire = crm($slug)->webhook($id, $contact, $tags, $contract, strtoupper((string) ($o['method'] ?? 'GET')));

    $url = rtrim((string) $o['url'], '?');
    if ($wire['query']) {
        $url .= (str_contains($url, '?') ? '&' : '?') . http_build_query($wire['query']);
    }
    $curl = curl_init($url);
    $headers = ['User-Agent: crmhook-emulator (' . $slug . ')'];
    if ($wire['content_type'] !== null) {
        $headers[] = 'Content-Type: ' . $wire['content_type'];
    }
    curl_setopt_array($curl, [
        CURLOPT_CUSTOMREQUEST => $wire['method'], CURLOPT_RETURNTRANSFER => true, CURLOPT_HTTPHEADER => $headers, CURLOPT_TIMEOUT => 60,
    ]);
    if ($wire['body'] !== null) {
        curl_setopt($curl, CURLOPT_POSTFIELDS, $wire['body']);
    }
    $answer = curl_exec($curl);
    $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
    $error = curl_error($curl);
    curl_close($curl);
    return [
        'status' => $status,
        'body' => $answer === false ? "send failed: $error" : (string) $answer,
        'request' => ['method' => $wire['method'], 'url' => $url, 'content_type' => $wire['content_type'], 'body' => $wire['body']],
    ];
}
