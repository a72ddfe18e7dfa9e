<?php
/**
 * The webhook log (CrmHook_Log) on a real WordPress: one row per event, secrets never stored,
 * retention by age and by row count, wrong keys one row per address and minute, "Run again",
 * the schedule, the upgrade from the old option, and the screen's escaping.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class LogTest extends TestCase
{
    private const SECRETS = [
        'access_key' => 'AccessKeyNeverStored0123456789',
        'api_key'    => 'ApiKeyNeverStoredabcdef',
        'api_secret' => 'ApiSecretNeverStored9876',
        'password'   => 'AppPassword NeverStored 42',
    ];

    protected function setUp(): void
    {
        global $wpdb;
        $wpdb->query('DELETE FROM ' . CrmHook_Log::table());
        $wpdb->query('DELETE FROM ' . CrmHook_Queue::table());
        remove_all_filters('crmhook_log_retention_days');
        remove_all_filters('crmhook_log_max_rows');
    }

    protected function tearDown(): void
    {
        remove_all_filters('crmhook_log_retention_days');
        remove_all_filters('crmhook_log_max_rows');
    }

    /** @return list<array<string, string|null>> */
    private function rows(): array
    {
        global $wpdb;
        return $wpdb->get_results('SELECT * FROM ' . CrmHook_Log::table() . ' ORDER BY id', ARRAY_A);
    }

    public function testARecordIsOneRowWithEveryColumn(): void
    {
        $user = wp_insert_user(['user_login' => 'logged' . wp_rand(), 'user_email' => 'logged' . wp_rand() . '@example.com', 'user_pass' => 'x']);
        $this->assertTrue(CrmHook_Log::record([
            'crm' => 'keap', 'action' => 'add', 'contact_id' => '1001', 'user_id' => $user, 'status' => 200, 'outcome' => 'created',
            'duration_ms' => 120, 'api_calls' => 2, 'message' => 'Created user.', 'notices' => ['Tags: 1 added, 0 removed.'], 'address' => '203.0.113.7',
        ]));
        $rows = $this->rows();
        $this->assertCount(1, $rows);
        $row = $rows[0];
        $this->assertSame(['keap', 'add', '1001', (string) $user, '200', 'created', '120', '2', 'Created user.', 'webhook', '203.0.113.7', '1'],
            [$row['crm'], $row['action'], $row['contact_id'], $row['user_id'], $row['status'], $row['outcome'], $row['duration_ms'], $row['api_calls'], $row['message'], $row['via'], $row['address'], $row['count']]);
        $this->assertSame(get_userdata($user)->user_email, $row['email'], 'the user\'s email, for search');
        $this->assertSame(['Tags: 1 added, 0 removed.'], json_decode((string) $row['notices'], true));
        $this->assertNull($row['bucket']);
        $this->assertEqualsWithDelta(time(), strtotime($row['time'] . ' UTC'), 5, 'UTC time');
    }

    public function testEveryRecordAppendsARowAndNoneIsRewritten(): void
    {
        for ($i = 1; $i <= 60; $i++) {
            CrmHook_Log::record(['crm' => 'keap', 'action' => 'update', 'contact_id' => (string) $i, 'status' => 200, 'ok' => true, 'message' => "n$i"]);
        }
        $rows = $this->rows();
        $this->assertCount(60, $rows, 'no cap of 50, no lost line');
        $this->assertSame(array_map('strval', range(1, 60)), array_column($rows, 'contact_id'));
    }

    public function testTheOutcomeOfAnAnswerThatNamesNoneFollowsItsStatus(): void
    {
        $this->assertSame('queued', CrmHook_Log::outcome_for(202, true));
        $this->assertSame('failed', CrmHook_Log::outcome_for(502, false));
        $this->assertSame('refused', CrmHook_Log::outcome_for(422, false));
        $this->assertSame('skipped', CrmHook_Log::outcome_for(200, false), '200 ok:false is not a success');
        $this->assertSame('updated', CrmHook_Log::outcome_for(200, true));
    }

    public function testAKeyASecretOrAPasswordIsNeverStored(): void
    {
        $saved = CrmHook_Settings::all();
        CrmHook_Settings::update(self::SECRETS);
        try {
            CrmHook_Log::secret('GeneratedPassw0rdXYZ');
            $text = implode(' ', self::SECRETS) . ' ' . rawurlencode(self::SECRETS['password'])
                . ' GeneratedPassw0rdXYZ https://site.test/?wpf_action=add&access_key=SomeOtherGuessedKey99&contact_id=5'
                . ' {"password":"hunter2hunter2","user_pass":"pw-in-json"} Authorization: Basic dXNlcjpwYXNzd29yZA== Bearer eyJhbGciOiJIUzI1NiJ9';
            CrmHook_Log::record(['crm' => 'fluentcrm', 'action' => 'add', 'contact_id' => '5', 'status' => 502, 'message' => $text, 'notices' => [$text]]);
            CrmHook_Log::bad_key('198.51.100.1', 403, 'Wrong key ' . $text, 'add', 'fluentcrm');
        } finally {
            update_option(CrmHook_Settings::OPTION, $saved);
        }
        $dump = json_encode($this->rows(), JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        $never = array_merge(array_values(self::SECRETS), [rawurlencode(self::SECRETS['password']), 'GeneratedPassw0rdXYZ', 'SomeOtherGuessedKey99', 'hunter2hunter2', 'pw-in-json', 'dXNlcjpwYXNzd29yZA==', 'eyJhbGciOiJIUzI1NiJ9']);
        foreach ($never as $secret) {
            $this->assertStringNotContainsString($secret, (string) $dump, "stored: $secret");
        }
        $this->assertStringContainsString('access_key=[redacted]&contact_id=5', (string) $dump, 'the rest of the line is kept');
        $this->assertCount(2, $this->rows());
    }

    public function testRowsOlderThanTheRetentionGo(): void
    {
        global $wpdb;
        for ($i = 1; $i <= 6; $i++) {
            CrmHook_Log::record(['action' => 'test', 'status' => 200, 'outcome' => 'test', 'message' => "r$i"]);
        }
        $ids = array_map('intval', array_column($this->rows(), 'id'));
        $wpdb->query($wpdb->prepare('UPDATE ' . CrmHook_Log::table() . ' SET time = UTC_TIMESTAMP() - INTERVAL 31 DAY WHERE id IN (%d, %d)', $ids[0], $ids[1]));
        $wpdb->query($wpdb->prepare('UPDATE ' . CrmHook_Log::table() . ' SET time = UTC_TIMESTAMP() - INTERVAL 29 DAY WHERE id = %d', $ids[2]));

        $this->assertSame(2, CrmHook_Log::prune());
        $this->assertSame(['r3', 'r4', 'r5', 'r6'], array_column($this->rows(), 'message'), 'older than 30 days: gone; 29 days: kept');

        add_filter('crmhook_log_retention_days', static fn () => 7);
        $this->assertSame(1, CrmHook_Log::prune(), 'the filter shortens it');
        $this->assertSame(['r4', 'r5', 'r6'], array_column($this->rows(), 'message'));
    }

    public function testBeyondTheRowLimitTheOldestRowsGo(): void
    {
        for ($i = 1; $i <= 8; $i++) {
            CrmHook_Log::record(['action' => 'test', 'status' => 200, 'outcome' => 'test', 'message' => "r$i"]);
        }
        add_filter('crmhook_log_max_rows', static fn () => 5);
        $this->assertSame(3, CrmHook_Log::prune());
        $this->assertSame(['r4', 'r5', 'r6', 'r7', 'r8'], array_column($this->rows(), 'message'));
        $this->assertSame(0, CrmHook_Log::prune(), 'at the limit: nothing more goes');
    }

    public function testWrongKeysAreOneRowPerAddressAndMinuteWithACount(): void
    {
        // The same minute for every guess: a test that straddles a minute boundary runs again.
        for ($try = 0; $try < 3; $try++) {
            $this->setUp();
            $minute = intdiv(time(), 60);
            for ($i = 0; $i < 5; $i++) {
                $this->assertTrue(CrmHook_Log::bad_key('203.0.113.9', 403, 'The access key is wrong.', 'add', 'keap'));
            }
            CrmHook_Log::bad_key('203.0.113.10', 403, 'The access key is wrong.', 'add', 'keap');
            CrmHook_Log::bad_key('203.0.113.9', 429, 'Too many requests with a wrong access key.', 'add', 'keap');
            // Two addresses of one IPv6 /64 are one client.
            CrmHook_Log::bad_key('2001:db8:1:2::1', 403, 'The access key is wrong.');
            CrmHook_Log::bad_key('2001:db8:1:2::ffff', 403, 'The access key is wrong.');
            if (intdiv(time(), 60) === $minute) {
                break;
            }
        }
        $rows = $this->rows();
        $by = array_column($rows, null, 'address');
        $this->assertCount(3, $rows, json_encode($rows));
        $this->assertSame('6', $by['203.0.113.9']['count']);
        $this->assertSame('429', $by['203.0.113.9']['status'], 'the row shows the strongest answer');
        $this->assertSame('refused', $by['203.0.113.9']['outcome']);
        $this->assertSame('1', $by['203.0.113.10']['count']);
        $this->assertSame('2', $by['2001:db8:1:2::/64']['count']);
    }

    public function testAFailedRowRunsAgainAsAQueuedJobAndOthersDoNot(): void
    {
        global $wpdb;
        CrmHook_Log::record(['crm' => 'activecampaign', 'action' => 'add', 'contact_id' => '1001', 'status' => 502, 'message' => 'down']);
        CrmHook_Log::record(['crm' => 'activecampaign', 'action' => 'add', 'contact_id' => '1002', 'status' => 200, 'outcome' => 'created', 'message' => 'ok']);
        CrmHook_Log::record(['crm' => 'activecampaign', 'action' => 'test', 'status' => 502, 'message' => 'no contact']);
        [$failed, $created, $test] = array_map(static fn ($row) => CrmHook_Log::get((int) $row['id']), $this->rows());

        $this->assertTrue(CrmHook_Log::can_run_again($failed));
        $this->assertFalse(CrmHook_Log::can_run_again($created));
        $this->assertFalse(CrmHook_Log::can_run_again($test), 'nothing to sync');
        $this->assertNull(CrmHook_Log::run_again($created));

        $job = CrmHook_Log::run_again($failed);
        $this->assertNotNull($job);
        $row = $wpdb->get_row($wpdb->prepare('SELECT * FROM ' . CrmHook_Queue::table() . ' WHERE id = %d', $job['id']), ARRAY_A);
        $this->assertSame(['activecampaign', '1001', 'add', 'queued'], [$row['crm'], $row['contact_id'], $row['action'], $row['status']]);
    }

    public function testAJobWhoseRunnerDiedTooOftenIsLoggedAsFailed(): void
    {
        global $wpdb;
        // A claim whose runner is gone (its named lock is free), on its last attempt.
        $wpdb->query($wpdb->prepare(
            'INSERT INTO ' . CrmHook_Queue::table() . " (crm, contact_id, action, action_rank, status, waiting, attempts, run_after, claim_id, claimed_at, created_at, updated_at)
             VALUES ('keap', '4242', 'update', 2, 'running', NULL, %d, UTC_TIMESTAMP(6), 'deadrunner', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
            CrmHook_Runner::MAX_ATTEMPTS
        ));
        $job = (int) $wpdb->insert_id;

        CrmHook_Queue::release_stale(CrmHook_Runner::MAX_ATTEMPTS);

        $this->assertSame('failed', $wpdb->get_var($wpdb->prepare('SELECT status FROM ' . CrmHook_Queue::table() . ' WHERE id = %d', $job)));
        $rows = $this->rows();
        $this->assertCount(1, $rows);
        $this->assertSame(['keap', 'update', '4242', 'failed', 'queue', (string) $job], [$rows[0]['crm'], $rows[0]['action'], $rows[0]['contact_id'], $rows[0]['outcome'], $rows[0]['via'], $rows[0]['job_id']]);
        $this->assertTrue(CrmHook_Log::can_run_again(CrmHook_Log::get((int) $rows[0]['id'])));
    }

    public function testACsvCellNeverStartsAFormula(): void
    {
        foreach (['=1+1', '+1', '-1', '@SUM(A1)', "\t=1", "\r=1"] as $cell) {
            $this->assertSame("'" . $cell, CrmHook_Log_Screen::csv_cell($cell));
        }
        $this->assertSame('Created user 5.', CrmHook_Log_Screen::csv_cell('Created user 5.'));
        $this->assertSame('', CrmHook_Log_Screen::csv_cell(''));
    }

    public function testActivationSchedulesTheRetentionAndDeactivationClearsIt(): void
    {
        CrmHook_Log::unschedule();
        CrmHook_Plugin::activate();
        $this->assertNotFalse(wp_next_scheduled(CrmHook_Log::PRUNE_HOOK));
        $this->assertSame(10, has_action(CrmHook_Log::PRUNE_HOOK, ['CrmHook_Log', 'prune']));
        CrmHook_Plugin::deactivate();
        $this->assertFalse(wp_next_scheduled(CrmHook_Log::PRUNE_HOOK));
        CrmHook_Plugin::activate();
    }

    public function testAnUpgradeCreatesTheTableAndDeletesTheOldActivityOption(): void
    {
        global $wpdb;
        update_option('crmhook_activity', [['time' => time(), 'status' => 200, 'action' => 'add', 'message' => 'old', 'notices' => []]], false);
        update_option('crmhook_db_version', '1', true);
        $wpdb->query('DROP TABLE ' . CrmHook_Log::table());

        CrmHook_Plugin::maybe_upgrade();

        $this->assertFalse(get_option('crmhook_activity'), 'nothing migrated: the option is gone');
        $this->assertSame(CrmHook_Log::table(), $wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', CrmHook_Log::table())));
        $this->assertSame(CrmHook_Plugin::schema_version(), get_option('crmhook_db_version'));
    }

    public function testTheLogScreenFiltersAndEscapes(): void
    {
        require_once ABSPATH . 'wp-admin/includes/admin.php';
        wp_set_current_user(1);
        set_current_screen('tools_page_crmhook-log');
        CrmHook_Log::record(['crm' => 'kit', 'action' => 'add', 'contact_id' => '77', 'status' => 502, 'message' => '<script>alert(1)</script>']);
        CrmHook_Log::record(['crm' => 'keap', 'action' => 'update', 'contact_id' => '88', 'status' => 200, 'outcome' => 'updated', 'message' => 'fine']);

        $_GET = ['page' => 'crmhook-log', 'outcome' => 'failed'];
        ob_start();
        CrmHook_Log_Screen::render();
        $html = (string) ob_get_clean();
        $_GET = [];

        $this->assertStringNotContainsString('<script>alert(1)', $html);
        $this->assertStringContainsString('&lt;script&gt;alert(1)&lt;/script&gt;', $html);
        $this->assertSame(1, preg_match_all('#<tr id="crmhook-log-\d+" class="[^"]*crmhook-log-failure[^"]*" data-id="\d+" data-outcome="failed"#', $html));
        $this->assertStringNotContainsString('data-outcome="updated"', $html, 'the outcome filter');
        $this->assertStringContainsString('id="crmhook-log-filters"', $html);
        $this->assertMatchesRegularExpression('#class="crmhook-log-run-again" href="[^"]*action=crmhook_log_run_again[^"]*_wpnonce=\w+#', $html);
    }
}
