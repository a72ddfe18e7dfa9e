<?php
/**
 * Contact lookup cost at 1,000 and at 100,000 linked users: the contact index (a primary-key
 * seek, the query CrmHook_Contacts::user_for() runs) against the lookup a plugin without an
 * index does (a wp_usermeta value match), measured side by side.
 *
 *   php scripts/site/wp.php --tests -f bench/lookup.php      (run by bench/site.sh)
 *
 * Both sizes exist at once — two copies of the index table, two meta keys — and the rounds
 * alternate between them, so the machine's noise falls on both alike. Rows come from MariaDB's
 * sequence engine (seq_1_to_N); nothing is left behind.
 */

declare(strict_types=1);

global $wpdb;
$sizes = [1000, 100000];
$rounds = 20;
$per_round = ['index' => 200, 'meta' => 5];

$index_sql = static fn (string $table): string => "SELECT user_id FROM $table WHERE crm = %s AND contact_id = %s";
$meta_sql = "SELECT user_id FROM {$wpdb->usermeta} WHERE meta_key = %s AND meta_value = %s LIMIT 1";

$tables = [];
foreach ($sizes as $n) {
    $table = CrmHook_Contacts::table() . "_bench_$n";
    $tables[$n] = $table;
    $wpdb->query("DROP TABLE IF EXISTS $table");
    $wpdb->query("CREATE TABLE $table LIKE " . CrmHook_Contacts::table());
    $wpdb->query("INSERT INTO $table (crm, contact_id, user_id, linked_at) SELECT 'keap', seq, seq, UTC_TIMESTAMP() FROM seq_1_to_$n");
    $wpdb->query($wpdb->prepare("DELETE FROM {$wpdb->usermeta} WHERE meta_key = %s", "bench{$n}_contact_id"));
    $wpdb->query("INSERT INTO {$wpdb->usermeta} (user_id, meta_key, meta_value) SELECT seq, 'bench{$n}_contact_id', seq FROM seq_1_to_$n");
}

$samples = [];
mt_srand(42);
for ($r = 0; $r < $rounds; $r++) {
    foreach ($sizes as $n) {
        foreach (['index', 'meta'] as $kind) {
            for ($i = 0; $i < $per_round[$kind]; $i++) {
                $contact = (string) mt_rand(1, $n);
                $sql = $kind === 'index'
                    ? $wpdb->prepare($index_sql($tables[$n]), 'keap', $contact)
                    : $wpdb->prepare($meta_sql, "bench{$n}_contact_id", $contact);
                $t = hrtime(true);
                $found = $wpdb->get_var($sql);
                $samples[$kind][$n][] = (hrtime(true) - $t) / 1000;
                if ((string) $found !== $contact) {
                    throw new RuntimeException("$kind lookup of $contact at $n found " . var_export($found, true));
                }
            }
        }
    }
}

$median = static function (array $xs): float {
    sort($xs);
    return $xs[intdiv(count($xs), 2)];
};
printf("contact lookup, median µs of %d interleaved rounds (%d index seeks / %d meta matches per size and round)\n",
    $rounds, $per_round['index'], $per_round['meta']);
printf("%-34s %12s %14s %8s\n", '', '1,000 users', '100,000 users', 'ratio');
foreach (['index' => 'crmhook index (primary-key seek)', 'meta' => 'usermeta value match (no index)'] as $kind => $label) {
    [$small, $large] = [$median($samples[$kind][1000]), $median($samples[$kind][100000])];
    printf("%-34s %12.1f %14.1f %7.2fx\n", $label, $small, $large, $large / $small);
}

foreach ($sizes as $n) {
    $wpdb->query("DROP TABLE IF EXISTS {$tables[$n]}");
    $wpdb->query($wpdb->prepare("DELETE FROM {$wpdb->usermeta} WHERE meta_key = %s", "bench{$n}_contact_id"));
}
return null;
