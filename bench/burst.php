<?php
/**
 * The burst benchmark (run by bench/burst.sh): a CRM bulk edit against the real site.
 *
 * ActiveCampaign's stand-in answers in 300 ms and allows 5 calls/s (429 + Retry-After past it).
 * 1,000 contacts, each sent twice (`add`, then — after the CRM changed every contact's tags —
 * `update`), 200 webhooks at once. Measured: every answer's status and time, the home page's time
 * meanwhile (one request at a time, beside the load), the drain of the queue, contact fetches,
 * users, and every user's tags against the CRM's final state. Then the same burst in sync mode
 * (`async=false`) on another 1,000 contacts. The floor: the same number of bare WordPress
 * requests (`/wp-admin/admin-ajax.php`, no action) at the same concurrency, with the home page
 * measured the same way. Everything is bounded: request counts, per-request timeouts, a drain cap.
 * With the fast lane (LANE=1, the default) the queued burst runs twice, the site's Fast lane
 * setting off and then on (contacts 300001…), side by side.
 *
 *   php bench/burst.php SITE_URL EMULATOR_URL ACCESS_KEY DB_SOCKET
 *
 * Env: CONTACTS (1000), CONCURRENCY (200), LATENCY_MS (300), DRAIN_CAP (900 s), LANE (1; 0 skips the
 *      fast-lane run), SYNC (1; 0 skips sync mode).
 */

declare(strict_types=1);

[, $site, $emulator, $key, $socket] = $argv + [null, null, null, null, null];
if (!$socket) {
    fwrite(STDERR, "usage: php bench/burst.php SITE_URL EMULATOR_URL ACCESS_KEY DB_SOCKET\n");
    exit(2);
}
$contacts = (int) (getenv('CONTACTS') ?: 1000);
$concurrency = (int) (getenv('CONCURRENCY') ?: 200);
$latency = (int) (getenv('LATENCY_MS') ?: 300);
$drainCap = (int) (getenv('DRAIN_CAP') ?: 900);
$limit = 5.0; // ActiveCampaign: 5 calls/s per account

// The harness's superuser: whoever runs it (unix_socket authentication on the private socket).
$db = new mysqli('localhost', posix_getpwuid(posix_geteuid())['name'] ?? 'root', '', 'wordpress', 0, $socket);

/** @return mixed */
function http(string $method, string $url, $json = null)
{
    $curl = curl_init($url);
    curl_setopt_array($curl, [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 120,
        CURLOPT_HTTPHEADER => ['Content-Type: application/json']]);
    if ($json !== null) {
        curl_setopt($curl, CURLOPT_POSTFIELDS, json_encode($json));
    }
    $body = curl_exec($curl);
    return json_decode((string) $body, true);
}

function median(array $xs): float
{
    if (!$xs) {
        return NAN;
    }
    sort($xs);
    $n = count($xs);
    return $n % 2 ? $xs[intdiv($n, 2)] : ($xs[$n / 2 - 1] + $xs[$n / 2]) / 2;
}

function pct(array $xs, float $p): float
{
    if (!$xs) {
        return NAN;
    }
    sort($xs);
    return $xs[min(count($xs) - 1, (int) ceil($p / 100 * count($xs)) - 1)];
}

/**
 * Sends the requests CONCURRENCY at a time, and meanwhile the home page one at a time, through
 * bench/burst_client.rs (built by bench/burst.sh): a load generator that costs the machine little,
 * as the CRMs' servers are elsewhere (PHP's curl_multi took a sixth of the two cores). It runs in a
 * session of its own (`setsid`), where it raises its scheduling group's priority so the site's load
 * does not delay its own clock (bench/burst_client.rs); `raised` says whether it could (root only).
 *
 * @param list<array{url: string, body: ?string}> $requests
 * @param array{index: int, url: string, json: mixed}|null $hook POSTed as JSON before request `index` starts
 * @return array{statuses: array<int, int>, times: list<float>, home: list<float>, seconds: float, raised: bool}
 */
function blast(string $site, array $requests, int $concurrency, ?array $hook = null): array
{
    $client = getenv('BURST_CLIENT') ?: __DIR__ . '/../target/release/examples/burst-client';
    $list = tempnam(sys_get_temp_dir(), 'burst');
    file_put_contents($list, implode("\n", array_map(static fn ($r) => $r['url'] . ($r['body'] !== null ? "\t" . $r['body'] : ''), $requests)) . "\n");
    $command = ['setsid', '--wait', $client, $site, (string) $concurrency, $list];
    $hookFile = null;
    if ($hook !== null) {
        $hookFile = tempnam(sys_get_temp_dir(), 'burst');
        file_put_contents($hookFile, json_encode($hook['json']));
        array_push($command, (string) $hook['index'], $hook['url'], $hookFile);
    }
    $process = proc_open($command, [1 => ['pipe', 'w']], $pipes);
    $out = stream_get_contents($pipes[1]);
    fclose($pipes[1]);
    $status = proc_close($process);
    unlink($list);
    if ($hookFile !== null) {
        unlink($hookFile);
    }
    $result = json_decode((string) $out, true);
    if ($status !== 0 || !is_array($result)) {
        fwrite(STDERR, "burst: the load generator failed ($client, exit $status)\n");
        exit(1);
    }
    $statuses = [];
    foreach ($result['statuses'] as $code => $n) {
        $statuses[(int) $code] = (int) $n;
    }
    ksort($statuses);
    return ['statuses' => $statuses, 'times' => $result['times'], 'home' => $result['home'], 'seconds' => (float) $result['seconds'], 'raised' => !empty($result['raised'])];
}

/** @return list<float> */
function idleHome(string $site, int $n): array
{
    $times = [];
    for ($i = 0; $i < $n; $i++) {
        $t0 = microtime(true);
        file_get_contents("$site/");
        $times[] = microtime(true) - $t0;
    }
    return $times;
}

/** Tags for contact $i in round $round: 1–3 of the 125 seed tags, changing between rounds. */
function tagsFor(int $i, int $round): array
{
    return array_values(array_unique([(string) (1 + ($i + $round) % 5), (string) (6 + ($i * 7 + $round * 3) % 20)]));
}

/**
 * One burst: contacts $first…, `add` each, the CRM changes every contact's tags, `update` each.
 *
 * @return array<string, mixed>
 */
function burst(mysqli $db, string $site, string $emulator, string $key, int $first, int $contacts, int $concurrency, bool $async, int $drainCap, float $limit): array
{
    $ids = range($first, $first + $contacts - 1);
    $seed = [];
    foreach ($ids as $i => $id) {
        $seed[(string) $id] = ['email' => "b$id@burst.example", 'first_name' => "B$id", 'last_name' => 'Burst', 'phone' => '', 'fields' => [], 'tags' => tagsFor($i, 1)];
    }
    http('POST', "$emulator/_emulator/contacts/activecampaign", ['contacts' => $seed]);
    $calls0 = count(http('GET', "$emulator/_emulator/calls?crm=activecampaign"));

    $requests = [];
    foreach (['add', 'update'] as $action) {
        foreach ($ids as $id) {
            $requests[] = [
                'url' => "$site/?" . http_build_query(['wpf_action' => $action, 'access_key' => $key, 'async' => $async ? null : 'false']),
                'body' => http_build_query(['contact' => ['id' => (string) $id, 'email' => "b$id@burst.example"]]),
            ];
        }
    }
    // Halfway, the CRM changes every contact's tags: the final state the users must reach.
    $final = [];
    foreach ($ids as $i => $id) {
        $final[(string) $id] = ['tags' => tagsFor($i, 2)] + $seed[(string) $id];
    }
    $hook = ['index' => $contacts, 'url' => "$emulator/_emulator/contacts/activecampaign", 'json' => ['contacts' => $final]];
    $t0 = microtime(true);
    $load = blast($site, $requests, $concurrency, $hook);

    // The drain: until nothing of this burst waits or runs (bounded).
    $drainStart = microtime(true);
    $range = sprintf("contact_id BETWEEN '%d' AND '%d'", $first, $first + $contacts - 1);
    while (microtime(true) - $drainStart < $drainCap) {
        $left = (int) $db->query("SELECT COUNT(*) FROM wp_crmhook_queue WHERE status IN ('queued', 'running') AND $range")->fetch_row()[0];
        if ($left === 0) {
            break;
        }
        sleep(1);
    }
    $drained = microtime(true);
    $queue = [];
    foreach ($db->query("SELECT status, COUNT(*) FROM wp_crmhook_queue WHERE $range GROUP BY status")->fetch_all() as [$status, $n]) {
        $queue[$status] = (int) $n;
    }

    $calls = array_slice(http('GET', "$emulator/_emulator/calls?crm=activecampaign"), $calls0);
    $fetches = 0;
    $limited = 0;
    $fetchTimes = [];
    foreach ($calls as $c) {
        if ($c['method'] === 'GET' && preg_match('#^/api/3/contacts/(\d+)$#', $c['path'], $m) && (int) $m[1] >= $first && (int) $m[1] < $first + $contacts) {
            if (!empty($c['limited'])) {
                $limited++;
            } else {
                $fetches++;
                $fetchTimes[] = $c['time'];
            }
        }
    }
    sort($fetchTimes);
    $rate = count($fetchTimes) > 1 ? (count($fetchTimes) - 1) / max(0.001, end($fetchTimes) - $fetchTimes[0]) : 0.0;

    $users = $db->query("SELECT user_email, COUNT(*) FROM wp_users WHERE user_email LIKE 'b%@burst.example' AND CAST(SUBSTRING(user_email, 2) AS UNSIGNED) BETWEEN $first AND " . ($first + $contacts - 1) . ' GROUP BY user_email')->fetch_all();
    $once = count(array_filter($users, static fn ($u) => (int) $u[1] === 1));
    $dupes = count($users) - $once;

    // Tags: ActiveCampaign's are stored as names.
    $names = [];
    foreach (json_decode((string) file_get_contents(__DIR__ . '/../tests/fixtures/crm/seed.json'), true)['crms']['activecampaign']['tags'] as $id => $name) {
        $names[(string) $id] = $name;
    }
    $right = 0;
    $rows = $db->query("SELECT u.user_email, m.meta_value FROM wp_users u JOIN wp_usermeta m ON m.user_id = u.ID AND m.meta_key = 'activecampaign_tags' WHERE u.user_email LIKE 'b%@burst.example'")->fetch_all();
    $stored = [];
    foreach ($rows as [$email, $value]) {
        $stored[$email] = (array) unserialize($value);
    }
    foreach ($ids as $id) {
        $want = array_map(static fn ($t) => $names[$t] ?? $t, $final[(string) $id]['tags']);
        $have = $stored["b$id@burst.example"] ?? null;
        if ($have !== null) {
            sort($want);
            sort($have);
            $right += $want === $have ? 1 : 0;
        }
    }

    return [
        'statuses' => $load['statuses'], 'p50' => pct($load['times'], 50), 'p99' => pct($load['times'], 99),
        'home' => median($load['home']), 'home_n' => count($load['home']), 'load_seconds' => $load['seconds'],
        'drain_seconds' => $drained - $t0, 'queue' => $queue, 'fetches' => $fetches, 'limited' => $limited,
        'rate' => $rate, 'rate_share' => $rate / $limit, 'users_once' => $once, 'users_dup' => $dupes, 'tags_right' => $right,
    ];
}

// ---- the run ---------------------------------------------------------------------------------

http('POST', "$emulator/_emulator/reset");
http('POST', "$emulator/_emulator/limits", ['crm' => 'activecampaign']);
http('POST', "$emulator/_emulator/faults", ['crm' => 'activecampaign', 'path' => '/', 'mode' => 'delay', 'delay_ms' => $latency]);
foreach (["DELETE m FROM wp_usermeta m JOIN wp_users u ON u.ID = m.user_id WHERE u.user_email LIKE '%@burst.example'",
    "DELETE c FROM wp_crmhook_contacts c JOIN wp_users u ON u.ID = c.user_id WHERE u.user_email LIKE '%@burst.example'",
    "DELETE FROM wp_users WHERE user_email LIKE '%@burst.example'", 'DELETE FROM wp_crmhook_queue', 'DELETE FROM wp_crmhook_budget', 'DELETE FROM wp_crmhook_throttle'] as $sql) {
    $db->query($sql);
}

printf("burst: %d contacts x 2 webhooks, %d at once; ActiveCampaign stand-in at %d ms and %.0f calls/s\n", $contacts, $concurrency, $latency, $limit);
$idle = median(idleHome($site, 30));
$floorRequests = array_fill(0, 2 * $contacts, ['url' => "$site/wp-admin/admin-ajax.php", 'body' => null]);
$floor = blast($site, $floorRequests, $concurrency);
echo $floor['raised'] ? "load generator: a scheduling group of its own at nice -10\n"
    : "load generator: at normal priority (not root): its times include its own waits for a CPU\n";
// The runs, side by side: the queue through WordPress, the queue through the fast lane (the
// site's Fast lane setting ticked; the harness's PHP has the lane's INI on), and sync mode.
$runs = [];
setLane($db, false);
$runs['queue, lane off (automatic)'] = burst($db, $site, $emulator, $key, 100001, $contacts, $concurrency, true, $drainCap, $limit);
if (getenv('LANE') !== '0') {
    setLane($db, true);
    $runs['queue, fast lane on'] = burst($db, $site, $emulator, $key, 300001, $contacts, $concurrency, true, $drainCap, $limit);
    setLane($db, false);
}
if (getenv('SYNC') !== '0') {
    $runs['sync (async=false)'] = burst($db, $site, $emulator, $key, 200001, $contacts, $concurrency, false, $drainCap, $limit);
}
http('DELETE', "$emulator/_emulator/faults");
http('DELETE', "$emulator/_emulator/limits");

$fmt = static fn (array $s) => implode(' ', array_map(static fn ($k, $v) => "$k:$v", array_keys($s), $s));
$floorHome = median($floor['home']);
printf("\nhome page median: idle %.3f s | during %d bare requests (floor) %.3f s (n=%d, their p50 %.3f s)\n", $idle, count($floorRequests), $floorHome, count($floor['home']), pct($floor['times'], 50));
$row = static function (string $name, array $cells, string $target) use ($runs): void {
    printf("%-34s", $name);
    foreach ($cells as $cell) {
        printf(" %-30s", $cell);
    }
    printf(" %s\n", $target);
};
$each = static fn (callable $f): array => array_map($f, $runs);
$row('', array_keys($runs), 'target (lane: its own)');
$row('answers', $each(static fn ($r) => $fmt($r['statuses'])), 'all 2xx');
$row('answer p50 / p99', $each(static fn ($r) => sprintf('%.3f / %.3f s', $r['p50'], $r['p99'])), 'p99 <= 1 s (lane 0.2 s)');
$row('home page median during burst', $each(static fn ($r) => sprintf('%.3f s = %.2fx floor', $r['home'], $r['home'] / $floorHome)), '<= 1.5x floor');
$row('  the same against idle', $each(static fn ($r) => sprintf('%.2fx idle (n=%d)', $r['home'] / $idle, $r['home_n'])), '(lane <= 3x idle)');
$row('burst sent in', $each(static fn ($r) => sprintf('%.1f s', $r['load_seconds'])), '');
$row('all processed after', $each(static fn ($r) => sprintf('%.1f s', $r['drain_seconds'])), '');
$row('jobs by status', $each(static fn ($r) => $fmt($r['queue']) ?: '-'), 'all done');
$row('users exactly once (of ' . $contacts . ')', $each(static fn ($r) => sprintf('%d (dup %d)', $r['users_once'], $r['users_dup'])), "$contacts, dup 0");
$row('contact fetches (429s)', $each(static fn ($r) => sprintf('%d = %.2fx (%d)', $r['fetches'], $r['fetches'] / $contacts, $r['limited'])), '<= 1.1x');
$row('tags = CRM final state', $each(static fn ($r) => sprintf('%d of %d', $r['tags_right'], $contacts)), "$contacts");
$row('fetch rate (of the 5/s limit)', $each(static fn ($r) => sprintf('%.2f/s = %.0f%%', $r['rate'], 100 * $r['rate_share'])), '>= 70%');

/** Ticks or clears the site's Fast lane setting (the lane reads it from the database per webhook). */
function setLane(mysqli $db, bool $on): void
{
    $row = $db->query("SELECT option_value FROM wp_options WHERE option_name = 'crmhook_settings'")->fetch_row();
    $settings = $row ? unserialize($row[0]) : [];
    $settings['fast_lane'] = $on;
    $stmt = $db->prepare("UPDATE wp_options SET option_value = ? WHERE option_name = 'crmhook_settings'");
    $serialized = serialize($settings);
    $stmt->bind_param('s', $serialized);
    $stmt->execute();
}
