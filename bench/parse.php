<?php
/**
 * Parse only: crmhook_parse_webhook() against the least plain PHP can do for the same answer
 * (parse_str / json_decode, pick the action, contact id and tags, hash_equals), side by side in
 * one process, rounds alternating so the machine's noise falls on both. Also:
 *   - "empty-ish": a `test` webhook (query string only), the fixed cost of a call;
 *   - "floor": building the extension's result array in PHP from values already decoded — the
 *     least any implementation must spend to hand PHP a result of that shape.
 * The answers (action, contact id, tags) are checked equal before timing.
 *
 *   php -d extension=target/release/libcrmhook.so -d opcache.enable_cli=1 bench/parse.php
 *   (make bench runs it after bench/webhooks.php)
 *
 * Env: ROUNDS (default 15), TARGET_MS (time per case and side in a round, default 20).
 */

declare(strict_types=1);

require __DIR__ . '/corpus.php';

if (!extension_loaded('crmhook')) {
    fwrite(STDERR, "load the extension: php -d extension=target/release/libcrmhook.so bench/parse.php\n");
    exit(1);
}

/** The minimal plain-PHP parse: no validation beyond the key, just the answer. */
function minimal_parse(array $request, string $crm, string $key): array
{
    parse_str($request['query'], $query);
    $form = [];
    $json = [];
    if ($request['body'] !== '') {
        if (str_contains($request['content_type'], 'json')) {
            $json = json_decode($request['body'], true);
        } else {
            parse_str($request['body'], $form);
        }
    }
    $given = $query['access_key'] ?? $form['access_key'] ?? $json['access_key'] ?? '';
    if (!hash_equals($key, (string) $given)) {
        throw new RuntimeException('wrong key', 403);
    }
    $action = $query['wpf_action'] ?? $form['wpf_action'] ?? $json['wpf_action'] ?? null;
    $tags = null;
    switch ($crm) {
        case 'activecampaign':
            $id = $form['contact']['id'] ?? null;
            if (isset($form['contact']['tags'])) {
                $tags = array_values(array_unique(array_filter(array_map('trim', explode(',', $form['contact']['tags'])), 'strlen')));
            }
            break;
        case 'convertkit':
        case 'kit':
            $id = $json['subscriber']['id'] ?? null;
            break;
        case 'fluentcrm':
            $id = $json['id'] ?? null;
            $tags = array_map(static fn (array $t) => (string) $t['id'], $json['tags'] ?? []);
            break;
        case 'keap':
            $id = $form['contactId'] ?? null;
            break;
        default:
            $id = null;
    }
    $id = $query['contact_id'] ?? $form['contact_id'] ?? $json['contact_id'] ?? $id;
    return ['action' => $action, 'contact_id' => $id === null ? null : (string) $id, 'tags' => $tags];
}

$rounds = (int) (getenv('ROUNDS') ?: 15);
$target_ns = (int) (getenv('TARGET_MS') ?: 20) * 1_000_000;
$corpus = bench_corpus();
$corpus = ['empty-ish (test)' => ['crm' => 'keap', 'request' => ['method' => 'GET',
    'query' => http_build_query(['wpf_action' => 'test', 'access_key' => BENCH_KEY]), 'body' => '', 'content_type' => '', 'headers' => []]]] + $corpus;

$sides = [
    'extension' => static fn (array $case): array => crmhook_parse_webhook($case['request'], ['crm' => $case['crm'], 'access_key' => BENCH_KEY]),
    'plain PHP' => static fn (array $case): array => minimal_parse($case['request'], $case['crm'], BENCH_KEY),
    // The extension's result, built in PHP from values decoded beforehand: only the array work.
    'floor' => static function (array $case): array {
        $d = $case['decoded'];
        $tags = null;
        if ($d['tags'] !== null) {
            $tags = [];
            foreach ($d['tags'] as $tag) {
                $tags[] = $tag;
            }
        }
        return ['action' => $d['action'], 'crm' => $d['crm'], 'contact_id' => $d['contact_id'], 'email' => $d['email'], 'tags' => $tags,
            'role' => $d['role'], 'send_notification' => $d['send_notification'], 'async' => $d['async'], 'initiated_from' => $d['initiated_from']];
    },
];

foreach ($corpus as $name => &$case) {
    $ext = $sides['extension']($case);
    $plain = $sides['plain PHP']($case);
    $answer = static fn (array $r) => [$r['action'], $r['contact_id'], $r['tags']];
    if ($answer($ext) !== $answer($plain)) {
        fwrite(STDERR, "parity: $name differs\nextension: " . json_encode($answer($ext)) . "\nplain PHP: " . json_encode($answer($plain)) . "\n");
        exit(1);
    }
    $case['decoded'] = $ext;
    if ($sides['floor']($case) !== $ext) {
        fwrite(STDERR, "floor: $name does not build the extension's result\n");
        exit(1);
    }
}
unset($case);

$iterations = [];
foreach ($corpus as $name => $case) {
    $t = hrtime(true);
    $n = 0;
    do {
        $sides['plain PHP']($case);
        $n++;
    } while (hrtime(true) - $t < $target_ns / 4);
    $iterations[$name] = max(10, $n * 4);
}

$ns = bench_interleaved($corpus, $sides, array_keys($sides), $iterations, $rounds);
$median = 'bench_median';
printf("parse only: median of %d interleaved rounds (%s)\n", $rounds, bench_php());
printf("%-26s %13s %13s %8s %11s\n", 'webhook', 'extension ns', 'plain PHP ns', 'ratio', 'floor ns');
foreach ($corpus as $name => $case) {
    [$e, $p, $f] = [$median($ns[$name]['extension']), $median($ns[$name]['plain PHP']), $median($ns[$name]['floor'])];
    printf("%-26s %13.0f %13.0f %7.1fx %11.0f\n", $name, $e, $p, $p / $e, $f);
}
