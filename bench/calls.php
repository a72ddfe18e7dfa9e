<?php
/**
 * N calls of one extension function on one corpus case, nothing else: the driver of
 * bench/callgrind.sh (and handy under perf).
 *
 *   CASE=keap WHAT=map N=1000 php -d extension=target/release/libcrmhook.so bench/calls.php
 *
 * WHAT: parse (crmhook_parse_webhook), map (crmhook_map_contact) or test (a `test` webhook:
 * the fixed cost of a parse call).
 */

declare(strict_types=1);

require __DIR__ . '/corpus.php';

$corpus = bench_corpus();
$case = $corpus[getenv('CASE') ?: 'keap'];
$what = getenv('WHAT') ?: 'map';
$n = (int) (getenv('N') ?: 1000);
$settings = ['crm' => $case['crm'], 'access_key' => BENCH_KEY];
$hook = crmhook_parse_webhook($case['request'], $settings);
$options = ['requested_role' => $hook['role']] + bench_options();
if ($what === 'test') {
    $case['request'] = ['method' => 'GET', 'query' => http_build_query(['wpf_action' => 'test', 'access_key' => BENCH_KEY]),
        'body' => '', 'content_type' => '', 'headers' => []];
}
for ($i = 0; $i < $n; $i++) {
    if ($what === 'map') {
        crmhook_map_contact($case['contact'], $options, null);
    } else {
        crmhook_parse_webhook($case['request'], $settings);
    }
}
