<?php
/**
 * Sends one CRM webhook to a site, in that CRM's wire format, and prints the answer.
 *
 *   php tests/emulator/send.php --crm=keap --action=add --url=http://127.0.0.1:8088/ --key=KEY --contact=1001
 *        [--method=GET|POST] [--send-notification=true] [--role=customer] [--async=true]
 *
 * The contact comes from the emulator's state (.run/emulator, or EMULATOR_STATE), seeded from
 * tests/fixtures/crm/seed.json; the emulator itself need not be running.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

require __DIR__ . '/lib.php';
require __DIR__ . '/crm/Crm.php';


$options = getopt('', ['crm:', 'action:', 'url:', 'key:', 'contact:', 'method:', 'send-notification:', 'role:', 'async:', 'email:']);
$args = [];
foreach ($options as $name => $value) {
    $args[str_replace('-', '_', $name)] = (string) $value;
}
try {
    $result = send_webhook($args);
} catch (\InvalidArgumentException $e) {
    fwrite(STDERR, "send.php: {$e->getMessage()}\n");
    exit(2);
}
echo "{$result['request']['method']} {$result['request']['url']}\n";
if ($result['request']['body'] !== null) {
    echo "Content-Type: {$result['request']['content_type']}\n{$result['request']['body']}\n";
}
echo "\n→ HTTP {$result['status']}\n{$result['body']}\n";
exit($result['status'] >= 200 && $result['status'] < 300 ? 0 : 1);
