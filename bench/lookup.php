<?php
/**
 * Contact lookup cost at 1,000 and at 100,000 users: the index seek (CrmHook_Contacts::user_for)
 * against the usermeta value scan a plugin without an index does (get_users + meta_query).
 *
 *   php scripts/site/wp.php -f bench/lookup.php      (run by bench/site.sh; uses the test database)
 *
 * Users are bulk-inserted with SQL (wp_insert_user would take minutes for 100,000).
 */

declare(strict_types=1);

global $wpdb;
$table = CrmHook_Contacts::table();
$rounds = ['index' => 2000, 'scan' => 100];

/** Grows the site to $n bench users, each linked to contact 500000+i of 'keap'. */
$grow = static function (int $n) use ($wpdb, $table): void {
    $have = (int) $wpdb->get_var("SELECT COUNT(*) FROM $table WHERE crm = 'keap' AND contact_id >= '500000'");
    for ($start = $have; $start < $n; $start += 5000) {
        $end = min($n, $start + 5000);
        $users = $meta = $links = [];
        for ($i = $start; $i < $end; $i++) {
            $users[] = $wpdb->prepare('(%s, %s, %s, %s, NOW(), %s)', "bench$i", '$P$Bbench', "bench$i", "bench$i@bench.example", "bench $i");
        }
        $wpdb->query("INSERT INTO {$wpdb->users} (user_login, user_pass, user_nicename, user_email, user_registered, display_name) VALUES " . implode(',', $users));
        $first = (int) $wpdb->insert_id;
        for ($i = $start, $id = $first; $i < $end; $i++, $id++) {
            $contact = (string) (500000 + $i);
            $meta[]  = $wpdb->prepare('(%d, %s, %s)', $id, 'infusionsoft_contact_id', $contact);
            $meta[]  = $wpdb->prepare('(%d, %s, %s)', $id, $wpdb->prefix . 'capabilities', 'a:1:{s:10:"subscriber";b:1;}');
            $links[] = $wpdb->prepare("('keap', %s, %d, UTC_TIMESTAMP())", $contact, $id);
        }
        $wpdb->query("INSERT INTO {$wpdb->usermeta} (user_id, meta_key, meta_value) VALUES " . implode(',', $meta));
        $wpdb->query("INSERT INTO $table (crm, contact_id, user_id, linked_at) VALUES " . implode(',', $links));
    }
};

/** Median microseconds per lookup over $rounds random contacts among the first $n. */
$time = static function (callable $lookup, int $n, int $rounds): float {
    mt_srand(42);
    $samples = [];
    for ($r = 0; $r < $rounds; $r++) {
        $contact = (string) (500000 + mt_rand(0, $n - 1));
        wp_cache_flush(); // every lookup goes to the database, as in a fresh request
        $t = hrtime(true);
        $found = $lookup($contact);
        $samples[] = (hrtime(true) - $t) / 1000;
        if (!$found) {
            throw new RuntimeException("contact $contact not found");
        }
    }
    sort($samples);
    return $samples[intdiv(count($samples), 2)];
};

$index = static fn (string $c) => CrmHook_Contacts::user_for('keap', $c);
$scan  = static fn (string $c) => get_users(['meta_key' => 'infusionsoft_contact_id', 'meta_value' => $c, 'fields' => 'ID', 'number' => 1])[0] ?? null;

$results = [];
foreach ([1000, 100000] as $n) {
    $grow($n);
    $results[$n] = ['index' => $time($index, $n, $rounds['index']), 'scan' => $time($scan, $n, $rounds['scan'])];
}

printf("contact lookup, median µs per lookup (%d index lookups, %d scans)\n", $rounds['index'], $rounds['scan']);
printf("%-28s %12s %12s %8s\n", '', '1,000 users', '100,000 users', 'ratio');
foreach (['index' => 'crmhook index (PK seek)', 'scan' => 'usermeta meta_query'] as $k => $label) {
    printf("%-28s %12.1f %12.1f %7.2fx\n", $label, $results[1000][$k], $results[100000][$k], $results[100000][$k] / $results[1000][$k]);
}

// Leave the test database as it was.
$wpdb->query("DELETE u, m FROM {$wpdb->users} u LEFT JOIN {$wpdb->usermeta} m ON m.user_id = u.ID WHERE u.user_login LIKE 'bench%' AND u.user_email LIKE '%@bench.example'");
$wpdb->query("DELETE FROM $table WHERE crm = 'keap' AND contact_id >= '500000'");
return null;
