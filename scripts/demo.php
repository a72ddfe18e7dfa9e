<?php
/**
 * The demo: for each CRM, points the plugin at the local CRM emulator, has the emulator send
 * that CRM's webhooks (its exact wire format) to the real site, and prints what happened.
 *
 * Run by `make demo` through scripts/site/wp.php, so WordPress is loaded:
 *   php scripts/site/wp.php -f scripts/demo.php
 *
 * Env: SITE_URL (http://127.0.0.1:8088), EMULATOR_URL (http://127.0.0.1:8790).
 */

declare(strict_types=1);

$site     = getenv('SITE_URL') ?: 'http://127.0.0.1:8088';
$emulator = getenv('EMULATOR_URL') ?: 'http://127.0.0.1:8790';
$contact  = '1001';

/** The emulator's credentials for each CRM, from its seed. */
$credentials = json_decode((string) file_get_contents(dirname(__DIR__) . '/tests/fixtures/crm/seed.json'), true)['credentials'];

/**
 * POSTs JSON to the emulator's control API.
 *
 * @return array<string, mixed>
 */
function emulator(string $url, string $path, array $body = []): array
{
    $context = stream_context_create(['http' => [
        'method'        => 'POST',
        'header'        => "Content-Type: application/json\r\n",
        'content'       => json_encode($body),
        'ignore_errors' => true,
        'timeout'       => 30,
    ]]);
    $answer = file_get_contents($url . $path, false, $context);
    $json   = json_decode((string) $answer, true);
    if (!is_array($json)) {
        throw new RuntimeException("the emulator did not answer $path: " . substr((string) $answer, 0, 200));
    }
    return $json;
}

/** The user linked to a contact, read straight from the database (the site wrote it, not us). */
function linked_user(string $crm, string $contact_id): ?array
{
    global $wpdb;
    $row = $wpdb->get_row($wpdb->prepare(
        "SELECT u.ID, u.user_login, u.user_email FROM {$wpdb->prefix}crmhook_contacts c JOIN {$wpdb->users} u ON u.ID = c.user_id WHERE c.crm = %s AND c.contact_id = %s",
        $crm,
        $contact_id
    ), ARRAY_A);
    if (!$row) {
        return null;
    }
    $tags = $wpdb->get_var($wpdb->prepare(
        "SELECT meta_value FROM {$wpdb->usermeta} WHERE user_id = %d AND meta_key = %s",
        $row['ID'],
        CrmHook_Settings::meta_slug($crm) . '_tags'
    ));
    $row['tags'] = $tags ? maybe_unserialize($tags) : [];
    return $row;
}

emulator($emulator, '/_emulator/reset');
$key  = (string) CrmHook_Settings::get('access_key');
$rows = [];
foreach ($credentials as $crm => $secrets) {
    CrmHook_Settings::update(array_merge(
        ['crm' => $crm, 'api_url' => "$emulator/$crm", 'api_key' => '', 'api_secret' => '', 'username' => '', 'password' => ''],
        $secrets
    ));
    foreach (['test', 'add', 'update', 'update_tags'] as $action) {
        $before = linked_user($crm, $contact);
        $sent   = emulator($emulator, '/_emulator/send', [
            'crm' => $crm, 'action' => $action, 'url' => $site . '/', 'key' => $key, 'contact' => $contact,
        ]);
        $answer = json_decode((string) ($sent['body'] ?? ''), true) ?: [];
        $after  = linked_user($crm, $contact);
        $what   = $answer['message'] ?? '';
        if ($action === 'add' && $after && !$before) {
            $what = "created {$after['user_login']}";
        }
        $rows[] = [
            CrmHook_Settings::crms()[$crm]['label'],
            $action,
            (string) ($sent['status'] ?? '?'),
            ($answer['ok'] ?? false) ? 'yes' : 'no',
            $after ? "#{$after['ID']} {$after['user_email']}" : '-',
            $after ? implode(', ', array_slice((array) $after['tags'], 0, 4)) : '',
            $what,
        ];
    }
}

$header = ['CRM', 'action', 'HTTP', 'ok', 'user', 'tags', 'what happened'];
$widths = array_map(static fn (int $i) => max(array_map(static fn ($r) => mb_strlen($r[$i]), array_merge([$header], $rows))), array_keys($header));
$line   = static fn (array $r) => implode('  ', array_map(static fn ($c, $w) => str_pad($c, $w + strlen($c) - mb_strlen($c)), $r, $widths));
echo "\n", $line($header), "\n", $line(array_map(static fn ($w) => str_repeat('-', $w), $widths)), "\n";
foreach ($rows as $r) {
    echo $line($r), "\n";
}
$failed = array_filter($rows, static fn ($r) => !in_array($r[2], ['200', '202'], true) || $r[3] !== 'yes');
echo "\n", count($rows) - count($failed), ' of ', count($rows), " webhooks answered ok.\n";
return null;
