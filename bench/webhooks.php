<?php
/**
 * Parse + key check + map of the CRM payload corpus: the extension against the same work in
 * plain PHP (bench/reference.php), side by side in one process. Rounds alternate between the two
 * so the machine's noise falls on both; the figure per case is the median of the rounds.
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

$ns = [];
for ($r = 0; $r < $rounds; $r++) {
    foreach ($corpus as $name => $case) {
        $order = $r % 2 ? ['plain PHP', 'extension'] : ['extension', 'plain PHP'];
        foreach ($order as $side) {
            $run = $sides[$side];
            $t = hrtime(true);
            for ($i = 0; $i < $iterations[$name]; $i++) {
                $run($case);
            }
            $ns[$name][$side][] = (hrtime(true) - $t) / $iterations[$name];
        }
    }
}

$median = static function (array $xs): float {
    sort($xs);
    return $xs[intdiv(count($xs), 2)];
};
printf("parse + key check + map per webhook: median of %d interleaved rounds (PHP %s, opcache %s, JIT %s)\n",
    $rounds, PHP_VERSION, ini_get('opcache.enable_cli') ? 'on' : 'off', ini_get('opcache.jit') ?: 'off');
printf("%-26s %14s %14s %8s\n", 'webhook', 'extension ns', 'plain PHP ns', 'ratio');
$sum = ['extension' => 0.0, 'plain PHP' => 0.0];
foreach ($corpus as $name => $case) {
    [$e, $p] = [$median($ns[$name]['extension']), $median($ns[$name]['plain PHP'])];
    if (empty($case['large'])) {
        $sum['extension'] += $e;
        $sum['plain PHP'] += $p;
    }
    printf("%-26s %14.0f %14.0f %7.1fx\n", $name, $e, $p, $p / $e);
}
printf("%-26s %14.0f %14.0f %7.1fx\n", 'corpus (six CRMs)', $sum['extension'], $sum['plain PHP'], $sum['plain PHP'] / $sum['extension']);
