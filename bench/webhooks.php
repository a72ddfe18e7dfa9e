<?php
/**
 * Parse + key check + map of the CRM payload corpus: the extension against the same work in
 * plain PHP (bench/reference.php), side by side in one process. Rounds alternate between the
 * sides so the machine's noise falls on all; the figure per case is the median of the rounds.
 * The "floor" column only builds the extension's two result arrays in PHP from values decoded
 * beforehand: what any implementation must at least spend to hand PHP results of that shape.
 *
 *   make bench      (php -d extension=target/release/libcrmhook.so -d opcache.enable_cli=1 bench/webhooks.php)
 *
 * Env: ROUNDS (default 15), TARGET_MS (time per case and side in a round, default 20).
 */

declare(strict_types=1);

require __DIR__ . '/corpus.php';
require __DIR__ . '/reference.php';

if (!extension_loaded('crmhook')) {
    fwrite(STDERR, "load the extension: php -d extension=target/release/libcrmhook.so bench/webhooks.php\n");
    exit(1);
}

$rounds = (int) (getenv('ROUNDS') ?: 15);
$target_ns = (int) (getenv('TARGET_MS') ?: 20) * 1_000_000;
$corpus = bench_corpus();
$options = bench_options();

$sides = [
    'extension' => static function (array $case) use ($options): array {
        $hook = crmhook_parse_webhook($case['request'], ['crm' => $case['crm'], 'access_key' => BENCH_KEY]);
        return [$hook, crmhook_map_contact($case['contact'], ['requested_role' => $hook['role']] + $options, null)];
    },
    'plain PHP' => static function (array $case) use ($options): array {
        $hook = ReferenceWebhooks::parse($case['request'], ['crm' => $case['crm'], 'access_key' => BENCH_KEY]);
        return [$hook, ReferenceWebhooks::map($case['contact'], ['requested_role' => $hook['role']] + $options, null)];
    },
];

/** The two result arrays, rebuilt entry by entry from a finished pair of results. */
function bench_floor(array $done): array
{
    $list = static function (?array $items): ?array {
        if ($items === null) {
            return null;
        }
        $out = [];
        foreach ($items as $item) {
            $out[] = $item;
        }
        return $out;
    };
    $map = static function (array $pairs): array {
        $out = [];
        foreach ($pairs as $k => $v) {
            $out[$k] = $v;
        }
        return $out;
    };
    [$h, $p] = $done;
    $hook = ['action' => $h['action'], 'crm' => $h['crm'], 'contact_id' => $h['contact_id'], 'email' => $h['email'],
        'tags' => $list($h['tags']), 'role' => $h['role'], 'send_notification' => $h['send_notification'], 'async' => $h['async'],
        'initiated_from' => $h['initiated_from']];
    $plan = ['op' => $p['op'], 'user' => $map($p['user']), 'meta' => $map($p['meta']), 'tags' => $list($p['tags']),
        'password_generated' => $p['password_generated'], 'return_password' => $p['return_password'] === null ? null : $map($p['return_password']),
        'notices' => $list($p['notices'])];
    return [$hook, $plan];
}

// Both sides must give the same answers for every case (passwords are random). The timed
// extension call leaves out `fields` (the plugin never reads them); the check asks for them too.
$withFields = static function (array $case) use ($options): array {
    $hook = crmhook_parse_webhook($case['request'], ['crm' => $case['crm'], 'access_key' => BENCH_KEY, 'fields' => true]);
    return [$hook, crmhook_map_contact($case['contact'], ['requested_role' => $hook['role']] + $options, null)];
};
foreach ($corpus as $name => $case) {
    [$a, $b] = [$withFields($case), $sides['plain PHP']($case)];
    $timed = $sides['extension']($case)[0];
    if (array_key_exists('fields', $timed) || $timed != array_diff_key($a[0], ['fields' => 0])) {
        fwrite(STDERR, "parity: $name without fields differs from $name with fields\n");
        exit(1);
    }
    $corpus[$name]['done'] = [$timed, $a[1]];
    $key = static fn (array $r) => [
        $r[0]['action'], $r[0]['contact_id'], $r[0]['email'], $r[0]['tags'], $r[0]['role'], $r[0]['send_notification'],
        array_map('strval', $r[0]['fields']), $r[1]['op'], $r[1]['user']['user_login'], $r[1]['user']['role'], $r[1]['meta'], $r[1]['tags'],
        strlen($r[1]['user']['user_pass']), $r[1]['return_password']['field'] ?? null,
    ];
    if ($key($a) != $key($b)) {
        fwrite(STDERR, "parity: $name differs\nextension: " . json_encode($key($a)) . "\nplain PHP: " . json_encode($key($b)) . "\n");
        exit(1);
    }
}

/** Calls per case so one side takes about $target_ns. */
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

$sides['floor'] = static fn (array $case): array => bench_floor($case['done']);
$ns = bench_interleaved($corpus, $sides, ['extension', 'floor', 'plain PHP'], $iterations, $rounds);
$median = 'bench_median';
printf("parse + key check + map per webhook: median of %d interleaved rounds (%s)\n", $rounds, bench_php());
printf("%-26s %14s %14s %8s %10s\n", 'webhook', 'extension ns', 'plain PHP ns', 'ratio', 'floor ns');
$sum = ['extension' => 0.0, 'plain PHP' => 0.0, 'floor' => 0.0];
foreach ($corpus as $name => $case) {
    [$e, $p, $f] = [$median($ns[$name]['extension']), $median($ns[$name]['plain PHP']), $median($ns[$name]['floor'])];
    if (empty($case['large'])) {
        $sum['extension'] += $e;
        $sum['plain PHP'] += $p;
        $sum['floor'] += $f;
    }
    printf("%-26s %14.0f %14.0f %7.1fx %10.0f\n", $name, $e, $p, $p / $e, $f);
}
printf("%-26s %14.0f %14.0f %7.1fx %10.0f\n", 'corpus (six CRMs)', $sum['extension'], $sum['plain PHP'], $sum['plain PHP'] / $sum['extension'], $sum['floor']);
