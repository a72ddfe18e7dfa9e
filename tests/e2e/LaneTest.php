<?php
/**
 * The fast lane through the real stack: the harness's php-fpm pools have the lane's INI on, and
 * these tests tick the site's Fast lane setting, so webhooks reach the plugin's lane.php before
 * WordPress. A must-use plugin installed for this class logs every WordPress boot with its query
 * string: a webhook the lane accepted must not appear in it.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class LaneTest extends E2ETestCase
{
    private const AC = 'activecampaign';

    private static string $bootLog = '';
    private static string $muPlugin = '';

    /** Where PHP's log (the harness's error_log) stood when the test began. */
    private int $phpLogAt = 0;

    public static function setUpBeforeClass(): void
    {
        parent::setUpBeforeClass();
        self::$bootLog = self::$runDir . '/lane-boots.log';
        $dir = self::$runDir . '/wordpress/wp-content/mu-plugins';
        if (!is_dir($dir)) {
            mkdir($dir, 0755, true);
        }
        self::$muPlugin = $dir . '/crmhook-test-boots.php';
        file_put_contents(self::$muPlugin, "<?php\n// Installed by tests/e2e/LaneTest.php: one line per WordPress boot, with its query string.\n"
            . 'file_put_contents(' . var_export(self::$bootLog, true) . ", (\$_SERVER['QUERY_STRING'] ?? '') . \"\\n\", FILE_APPEND | LOCK_EX);\n");
    }

    public static function tearDownAfterClass(): void
    {
        @unlink(self::$muPlugin);
        @unlink(self::$bootLog);
        // The other suites test the normal path.
        $db = self::$db;
        $row = $db->query("SELECT option_value FROM wp_options WHERE option_name = 'crmhook_settings'")->fetch_row();
        $settings = $row ? unserialize($row[0]) : [];
        $settings['fast_lane'] = false;
        $stmt = $db->prepare("UPDATE wp_options SET option_value = ? WHERE option_name = 'crmhook_settings'");
        $serialized = serialize($settings);
        $stmt->bind_param('s', $serialized);
        $stmt->execute();
    }

    protected function setUp(): void
    {
        parent::setUp();
        $this->configure(self::AC, ['fast_lane' => true]);
        // The lane's configuration, as the plugin writes it when settings are saved.
        $this->wp('return CrmHook_Lane_Config::write() ? "written" : "not written";');
        @unlink(self::$bootLog);
        clearstatcache();
        $this->phpLogAt = (int) @filesize($this->phpLog());
    }

    protected function assertPostConditions(): void
    {
        // The lane answers before WordPress, where a PHP warning would go unseen by any screen:
        // none may come from its files.
        clearstatcache();
        $grown = (string) @file_get_contents($this->phpLog(), false, null, $this->phpLogAt);
        $lines = preg_grep('#/crmhook/(lane\.php|includes/class-crmhook-(lane|sql)\.php)#', explode("\n", $grown));
        $this->assertSame([], array_values($lines), 'PHP warnings from the lane');
    }

    private function phpLog(): string
    {
        return self::$runDir . '/logs/php-error.log';
    }

    public function testAWebhookIsAcceptedWithoutBootingWordPressAndProcessedByTheRunner(): void
    {
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $answer = $this->webhook('add', '1001');
        $this->assertSame(202, $answer['status'], $answer['body']);
        $this->assertSame('1', $answer['headers']['x-crmhook-lane'] ?? null, 'the lane answered');
        $this->assertSame('no-store, no-cache, must-revalidate, max-age=0', $answer['headers']['cache-control'] ?? null);
        $this->assertSame(['ok' => true, 'action' => 'add', 'contact_id' => '1001', 'user_id' => null, 'queued' => true], array_slice($answer['json'], 0, 5));

        $this->assertTrue($this->drained(30), json_encode($this->jobs()));
        $this->assertSame([], $this->webhookBoots(), 'no WordPress boot for the lane\'s webhook');
        $this->assertStringContainsString('crmhook_runner=', (string) @file_get_contents(self::$bootLog), 'the lane started a runner, which boots WordPress');
        $user = $this->userByEmail($contact['email']);
        $this->assertNotNull($user, 'the runner created the user');
        $this->assertSame(['Customer', 'VIP'], $this->tags((int) $user['ID'], self::AC));
        $job = $this->jobs()[0];
        $this->assertSame(['done', '200', 'add'], [$job['status'], (string) $job['last_status'], $job['action']]);

        // The same webhook with the setting off goes through WordPress, and the log sees it.
        $this->configure(self::AC, ['fast_lane' => false, 'queue_mode' => 'background']);
        $answer = $this->webhook('update', '1001');
        $this->assertSame(202, $answer['status'], $answer['body']);
        $this->assertArrayNotHasKey('x-crmhook-lane', $answer['headers']);
        $this->assertCount(1, $this->webhookBoots(), 'the normal path boots WordPress');
    }

    public function testABurstIsMergedAsTheNormalPathMergesIt(): void
    {
        $this->holdBudget(5);
        $statuses = [];
        foreach (['update_tags', 'add', 'update'] as $action) {
            $statuses[] = $this->webhook($action, '1001')['status'];
        }
        $this->assertSame([202, 202, 202], $statuses);
        $this->assertSame([['contact_id' => '1001', 'action' => 'add', 'webhooks' => 3]], $this->rows('SELECT contact_id, action, webhooks FROM wp_crmhook_queue'));
        $this->assertSame([], $this->webhookBoots());
    }

    public function testAWrongKeyIsRefusedByTheLaneWithNothingStored(): void
    {
        $answer = $this->request('POST', http_build_query(['wpf_action' => 'add', 'access_key' => 'not-the-key']), 'contact%5Bid%5D=1001', 'application/x-www-form-urlencoded');
        $this->assertSame(403, $answer['status'], $answer['body']);
        $this->assertSame('1', $answer['headers']['x-crmhook-lane'] ?? null);
        $this->assertFalse($answer['json']['ok']);
        $this->assertStringNotContainsString(self::$key, $answer['body']);
        $this->assertSame([], $this->jobs());
        $this->assertSame([], $this->webhookBoots());
        $this->assertSame('1', $this->rows('SELECT SUM(hits) AS n FROM wp_crmhook_throttle')[0]['n'], 'counted where the normal path counts');
    }

    public function testTheLaneWritesTheLogRowOfEveryWebhookItAnswers(): void
    {
        $this->holdBudget(5);
        $accepted = $this->webhook('add', '1001');
        $this->assertSame(202, $accepted['status'], $accepted['body']);
        $this->assertSame(200, $this->get('test')['status']);
        for ($i = 0; $i < 3; $i++) {
            $this->assertSame(403, $this->request('GET', http_build_query(['wpf_action' => 'update', 'access_key' => "guess-$i"]))['status']);
        }
        $rows = $this->rows("SELECT crm, action, contact_id, status, outcome, job_id, count, message FROM wp_crmhook_log WHERE via = 'webhook' ORDER BY id");
        $this->assertCount(3, $rows, json_encode($rows));
        $this->assertSame(['activecampaign', 'add', '1001', '202', 'queued', (string) $accepted['json']['job']], [$rows[0]['crm'], $rows[0]['action'], $rows[0]['contact_id'], (string) $rows[0]['status'], $rows[0]['outcome'], (string) $rows[0]['job_id']]);
        $this->assertSame(['test', '200', 'test'], [$rows[1]['action'], (string) $rows[1]['status'], $rows[1]['outcome']]);
        $this->assertSame(['update', '403', 'refused', '3'], [$rows[2]['action'], (string) $rows[2]['status'], $rows[2]['outcome'], (string) $rows[2]['count']], 'three guesses, one row');
        $this->assertStringNotContainsString('guess-', json_encode($rows), 'a guessed key is never stored');
        $this->assertStringNotContainsString(self::$key, json_encode($rows));
        $this->assertSame([], $this->webhookBoots());
    }

    public function testTooManyWrongKeysFromOneAddressGet429(): void
    {
        $statuses = [];
        for ($i = 0; $i < 22; $i++) {
            $statuses[] = $this->request('GET', http_build_query(['wpf_action' => 'test', 'access_key' => "guess$i"]))['status'];
        }
        $this->assertSame(array_merge(array_fill(0, 20, 403), [429, 429]), $statuses);
        $this->assertSame(200, $this->get('test')['status'], 'the right key is never slowed');
    }

    public function testAKeyChangedInTheSettingsRefusesTheOldKeyAtOnce(): void
    {
        $old = self::$key;
        $this->assertSame(200, $this->get('test')['status']);
        $new = $this->wp('$key = crmhook_generate_access_key(); CrmHook_Settings::update(["access_key" => $key]); return $key;');
        $this->assertNotSame($old, $new);

        $answer = $this->request('GET', http_build_query(['wpf_action' => 'update', 'access_key' => $old, 'contact_id' => '1001']));
        $this->assertSame(403, $answer['status'], 'the old key, the very next request');
        $this->assertSame('1', $answer['headers']['x-crmhook-lane'] ?? null);
        self::$key = $new;
        $answer = $this->webhook('update', '1001');
        $this->assertSame(202, $answer['status'], $answer['body']);
        $this->assertSame('1', $answer['headers']['x-crmhook-lane'] ?? null);
    }

    public function testASettingChangedStraightInTheDatabaseIsSeenByTheNextWebhookThoughTheWorkersRememberTheOld(): void
    {
        $this->holdBudget(5);
        // Every webhook worker answers a few: each keeps the settings it read (the lane's memo).
        for ($i = 0; $i < 16; $i++) {
            $answer = $this->webhook('update', (string) (2001 + $i));
            $this->assertSame(202, $answer['status'], $answer['body']);
        }
        $this->assertCount(16, $this->jobs());
        // The key changed in the database itself, not through WordPress, and only in its case:
        // the options table's collation ignores case, the lane's check must not.
        $old = self::$key;
        $settings = $this->option('crmhook_settings');
        $settings['access_key'] = strtoupper($old) !== $old ? strtoupper($old) : strtolower($old);
        $this->assertNotSame($old, $settings['access_key']);
        $this->setOption('crmhook_settings', $settings);

        for ($i = 0; $i < 16; $i++) {
            $answer = $this->webhook('update', (string) (3001 + $i));
            $this->assertSame(403, $answer['status'], "webhook $i with the old key: " . $answer['body']);
            $this->assertSame('1', $answer['headers']['x-crmhook-lane'] ?? null);
        }
        $this->assertCount(16, $this->jobs(), 'nothing stored with the old key');
        $this->assertSame(0, (int) $this->rows("SELECT COUNT(*) AS n FROM wp_crmhook_log WHERE contact_id LIKE '30%' AND outcome = 'queued'")[0]['n'], 'no accept logged either');

        self::$key = $settings['access_key'];
        $answer = $this->webhook('update', '3001');
        $this->assertSame(202, $answer['status'], $answer['body']);
        $this->assertSame('1', $answer['headers']['x-crmhook-lane'] ?? null);
        // The lane turned off the same way: the next webhook is WordPress's.
        $settings['fast_lane'] = false;
        $this->setOption('crmhook_settings', $settings);
        $answer = $this->webhook('update', '3002');
        $this->assertSame(202, $answer['status'], $answer['body']);
        $this->assertArrayNotHasKey('x-crmhook-lane', $answer['headers']);
        $this->assertCount(1, $this->webhookBoots());
    }

    public function testWhatTheLaneDoesNotTakeGoesToWordPress(): void
    {
        // async=false: run now, which needs WordPress (the contact has no user: 200 ok:false).
        $answer = $this->webhook('update', '1001', ['async' => 'false']);
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertArrayNotHasKey('x-crmhook-lane', $answer['headers']);
        // No contact id: WordPress answers 422 and logs it.
        $answer = $this->request('POST', http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]), 'contact%5Bemail%5D=a%40b.example', 'application/x-www-form-urlencoded');
        $this->assertSame(422, $answer['status'], $answer['body']);
        $this->assertArrayNotHasKey('x-crmhook-lane', $answer['headers']);
        $this->assertCount(2, $this->webhookBoots());
        $this->assertSame([], $this->jobs());
    }

    public function testTwoWebServersEachAcceptAndOneRunnerDrainsBoth(): void
    {
        $site2 = getenv('SITE2_URL') ?: 'http://127.0.0.1:8089';
        $ids = range(4001, 4010);
        $contacts = [];
        foreach ($ids as $id) {
            $contacts[(string) $id] = ['email' => "l$id@example.com", 'first_name' => "L$id", 'last_name' => 'Lane', 'fields' => [], 'tags' => ['1']];
        }
        $this->emulatorPost('/_emulator/contacts/activecampaign', ['contacts' => $contacts]);
        $this->configure(self::AC, ['fast_lane' => true, 'queue_runners' => 1]);
        $this->holdBudget(2);
        foreach ($ids as $i => $id) {
            $base = $i % 2 ? $site2 : self::$site;
            $curl = curl_init($base . '/?' . http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]));
            curl_setopt_array($curl, [CURLOPT_RETURNTRANSFER => true, CURLOPT_POST => true, CURLOPT_POSTFIELDS => "contact%5Bid%5D=$id", CURLOPT_HEADER => true, CURLOPT_TIMEOUT => 30]);
            $raw = (string) curl_exec($curl);
            $this->assertSame(202, curl_getinfo($curl, CURLINFO_RESPONSE_CODE), $raw);
            $this->assertStringContainsStringIgnoringCase("x-crmhook-lane: 1\r\n", $raw, "webhook $i through " . ($i % 2 ? 'server b' : 'server a'));
        }
        $this->assertSame([], $this->webhookBoots(), 'neither server booted WordPress for a webhook');
        $this->assertTrue($this->drained(60), json_encode($this->jobs()));
        // Contacts at even places went to server a, odd ones to b: a runner took jobs of both.
        $servers = [];
        foreach ($this->jobs() as $job) {
            $this->assertSame('done', $job['status'], json_encode($job));
            $servers[(string) $job['claimed_by']][(array_search((int) $job['contact_id'], $ids, true) % 2) ? 'b' : 'a'] = true;
        }
        $this->assertNotEmpty(array_filter($servers, static fn (array $s): bool => count($s) === 2), 'one runner drained jobs accepted by both servers: ' . json_encode($servers));
        foreach ($ids as $id) {
            $this->assertCount(1, $this->rows('SELECT ID FROM wp_users WHERE user_email = ?', 's', "l$id@example.com"), "contact $id: one user");
        }
    }

    public function testTheSettingsScreenShowsTheLaneActiveAndItsLastAccept(): void
    {
        $this->assertSame(202, $this->webhook('update_tags', '1001')['status']);
        $page = $this->settingsPage();
        $this->assertStringContainsString('Active on this server.', $page);
        $this->assertStringContainsString('Last webhook accepted by the fast lane:', $page);
        $this->assertStringContainsString('crmhook.lane_entry = ' . dirname(__DIR__, 2) . '/wordpress-plugin/crmhook/lane.php', $page);
        // How to give webhooks and runners a php-fpm pool of their own (as this harness does).
        $this->assertStringContainsString('(wpf_action|crmhook_runner)(=|&amp;|$)', $page);
        $this->assertStringContainsString('fastcgi_pass $crmhook_php;', $page);
        $config = (string) file_get_contents(self::$runDir . '/lane/lane.json');
        $this->assertStringNotContainsString(self::$key, $config, 'the key is never in the lane\'s file');
        $this->assertSame('600', substr(sprintf('%o', fileperms(self::$runDir . '/lane/lane.json')), -3));

        $this->configure(self::AC, ['fast_lane' => false]);
        $this->assertStringContainsString('Ready on this server: tick the box', $this->settingsPage());
    }

    public function testAMultisiteConfigurationLeavesWebhooksToWordPress(): void
    {
        $file = self::$runDir . '/lane/lane.json';
        $config = json_decode((string) file_get_contents($file), true);
        $this->assertFalse($config['multisite']);
        $config['multisite'] = true; // what the plugin writes on a network
        file_put_contents($file, json_encode($config));
        try {
            // Automatic mode on an idle site: WordPress runs it inline (no user for 1001 yet).
            $answer = $this->webhook('update', '1001');
            $this->assertSame(200, $answer['status'], $answer['body']);
            $this->assertArrayNotHasKey('x-crmhook-lane', $answer['headers'], 'WordPress answered');
            $this->assertCount(1, $this->webhookBoots());
        } finally {
            $this->wp('return CrmHook_Lane_Config::write();');
        }
    }

    public function testANewConfigurationFileIsReadByTheNextWebhookThoughTheWorkersRememberTheOld(): void
    {
        $this->holdBudget(5);
        // Every webhook worker answers a few: each keeps the configuration it read (the memo).
        for ($i = 0; $i < 16; $i++) {
            $answer = $this->webhook('update', (string) (4001 + $i));
            $this->assertSame(202, $answer['status'], $answer['body']);
            $this->assertSame('1', $answer['headers']['x-crmhook-lane'] ?? null);
        }
        // A new file, replaced in one rename as the plugin writes it: here, a network's.
        $file = self::$runDir . '/lane/lane.json';
        $config = json_decode((string) file_get_contents($file), true);
        $config['multisite'] = true;
        file_put_contents("$file.new", json_encode($config));
        rename("$file.new", $file);
        try {
            for ($i = 0; $i < 16; $i++) {
                $answer = $this->webhook('update', (string) (5001 + $i));
                $this->assertSame(202, $answer['status'], $answer['body']);
                $this->assertArrayNotHasKey('x-crmhook-lane', $answer['headers'], "webhook $i: WordPress answered");
            }
            $this->assertCount(16, $this->webhookBoots());
        } finally {
            $this->wp('return CrmHook_Lane_Config::write();');
        }
        $answer = $this->webhook('update', '5001');
        $this->assertSame('1', $answer['headers']['x-crmhook-lane'] ?? null, 'the lane again, with the plugin\'s file back');
    }

    public function testWithTheDatabaseStoppedTheLaneNeverAnswers202(): void
    {
        $cnf = self::$runDir . '/mariadb/my.cnf';
        exec('mariadb-admin --defaults-file=' . escapeshellarg($cnf) . ' shutdown 2>&1', $out, $status);
        $this->assertSame(0, $status, implode("\n", $out));
        try {
            $answer = $this->webhook('add', '1001');
            $this->assertSame(503, $answer['status'], $answer['body']);
            $this->assertSame('1', $answer['headers']['x-crmhook-lane'] ?? null);
            $this->assertSame(['ok' => false, 'queued' => false], array_slice($answer['json'] ?? [], 0, 2));
        } finally {
            exec(escapeshellarg(dirname(__DIR__, 2) . '/scripts/site/up.sh') . ' 2>&1', $out, $status);
            $this->assertSame(0, $status, implode("\n", $out));
            self::$db = self::connectDb();
        }
        $this->assertSame([], $this->jobs(), 'nothing stored, and nothing claimed to be');
        $this->assertSame(202, $this->webhook('add', '1001')['status'], 'accepted again once the database is back');
    }

    // ---- helpers ---------------------------------------------------------------------------

    /**
     * An ActiveCampaign-style webhook: the contract in the URL, the contact in a form body.
     *
     * @return array{status: int, body: string, json: ?array, headers: array<string, string>}
     */
    private function webhook(string $action, string $contactId, array $params = []): array
    {
        return $this->request('POST', http_build_query(['wpf_action' => $action, 'access_key' => self::$key] + $params), 'contact%5Bid%5D=' . $contactId, 'application/x-www-form-urlencoded');
    }

    /** @return list<string> The WordPress boots of webhook requests. */
    private function webhookBoots(): array
    {
        $lines = @file(self::$bootLog, FILE_IGNORE_NEW_LINES) ?: [];
        return array_values(array_filter($lines, static fn (string $q): bool => str_contains($q, 'wpf_action')));
    }

    /** The settings screen as the admin sees it. */
    private function settingsPage(): string
    {
        $page = $this->adminGet($this->adminLogin(), '/wp-admin/options-general.php?page=crmhook');
        $this->assertSame(200, $page['status']);
        return $page['body'];
    }
}
