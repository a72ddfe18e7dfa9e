<?php
/**
 * crmhook_fetch_contact() calls per second against the CRM emulator, with connection reuse
 * (`crmhook.http_keepalive=1`, one pool per PHP process) versus a new connection per call,
 * side by side in one process: rounds alternate so noise hits both alike.
 *
 *   php -d extension=target/release/libcrmhook.so bench/crm_calls.php http://127.0.0.1:8791
 *
 * The URL is bench/crm.sh's keep-alive front (nginx) for the emulator: PHP's built-in server,
 * which runs the emulator, closes every connection itself.
 */

declare(strict_types=1);

$base   = $argv[1] ?? 'http://127.0.0.1:8791';
$rounds = (int) (getenv('ROUNDS') ?: 5);
$calls  = (int) (getenv('CALLS') ?: 300);
$crms   = [
    'activecampaign' => ['api_key' => 'ac-test-key'],
    'keap'           => ['api_key' => 'keap-test-key'],
];

$rate = static function (array $crm, int $calls): float {
    $t = hrtime(true);
    for ($i = 0; $i < $calls; $i++) {
        crmhook_fetch_contact($crm, '1001');
    }
    return $calls / ((hrtime(true) - $t) / 1e9);
};

printf("crmhook_fetch_contact against the emulator at %s, %d rounds × %d calls, median calls/s\n", $base, $rounds, $calls);
printf("%-16s %14s %14s %8s\n", 'CRM', 'keep-alive', 'new conn.', 'ratio');
foreach ($crms as $slug => $secrets) {
    $crm = ['crm' => $slug, 'api_url' => "$base/$slug"] + $secrets;
    crmhook_fetch_contact($crm, '1001'); // warm up (and fill ActiveCampaign's tag cache)
    $reuse = $fresh = [];
    for ($r = 0; $r < $rounds; $r++) {
        ini_set('crmhook.http_keepalive', '1');
        $reuse[] = $rate($crm, $calls);
        ini_set('crmhook.http_keepalive', '0');
        $fresh[] = $rate($crm, $calls);
    }
    sort($reuse);
    sort($fresh);
    $m = intdiv($rounds, 2);
    printf("%-16s %14.0f %14.0f %7.2fx\n", $slug, $reuse[$m], $fresh[$m], $reuse[$m] / $fresh[$m]);
}
