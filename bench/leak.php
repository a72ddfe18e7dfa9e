<?php
/**
 * RSS of one PHP process over 1,000,000 extension calls: parse (accepted and refused), map,
 * password and key generation, key checks. Exits 1 when RSS grows by more than 2 MiB after
 * the warm-up.
 *
 *   php -d extension=target/release/libcrmhook.so bench/leak.php
 */

declare(strict_types=1);

require __DIR__ . '/corpus.php';

$calls = (int) (getenv('CALLS') ?: 1_000_000);
$corpus = array_values(array_filter(bench_corpus(), static fn ($c) => empty($c['large'])));
$options = bench_options();
$bad = ['method' => 'POST', 'query' => 'wpf_action=add&access_key=' . BENCH_KEY, 'body' => '{"subscriber": [1', 'content_type' => 'application/json'];

$rss = static function (): int {
    preg_match('/VmRSS:\s+(\d+) kB/', (string) file_get_contents('/proc/self/status'), $m);
    return (int) $m[1];
};

$warm = 0;
$checkpoints = [10_000, 100_000, 250_000, 500_000, 750_000, 1_000_000];
printf("%10s %10s\n", 'calls', 'RSS kB');
for ($i = 1; $i <= $calls; $i++) {
    $case = $corpus[$i % count($corpus)];
    switch ($i % 5) {
        case 0:
            // Every other one with the fields, so both result shapes are built and freed.
            crmhook_parse_webhook($case['request'], ['crm' => $case['crm'], 'access_key' => BENCH_KEY, 'fields' => $i % 10 === 0]);
            break;
        case 1:
            try {
                crmhook_parse_webhook($bad, ['crm' => 'kit', 'access_key' => BENCH_KEY]);
            } catch (CrmHook\WebhookException) {
                // Expected: the refusal's exception is what this case allocates and frees.
            }
            break;
        case 2:
            crmhook_map_contact($case['contact'], $options, null);
            break;
        case 3:
            crmhook_generate_password();
            crmhook_verify_access_key(BENCH_KEY, 'nope');
            break;
        default:
            crmhook_generate_access_key();
    }
    if ($i === 10_000) {
        $warm = $rss();
    }
    if (in_array($i, $checkpoints, true)) {
        printf("%10d %10d\n", $i, $rss());
    }
}
$growth = $rss() - $warm;
printf("growth after warm-up: %d kB\n", $growth);
exit($growth > 2048 ? 1 : 0);
