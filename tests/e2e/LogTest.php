<?php
/**
 * The webhook log through the real stack: a row for every webhook, even fifty at once; `test`
 * and wrong keys logged (wrong keys one row per address and minute); "Run again" of a failed
 * webhook from Tools → CRM Webhooks log; the CSV export.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class LogTest extends E2ETestCase
{
    private const PARALLEL = 50;

    protected function tearDown(): void
    {
        $this->emulatorCall('DELETE', '/_emulator/faults');
    }

    public function testFiftyConcurrentWebhooksLeaveExactlyFiftyRows(): void
    {
        // Immediately: every webhook runs in its own request and writes its own row at once.
        $this->configure('keap', ['queue_mode' => 'immediate']);
        $query = http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]);
        $answers = $this->parallel(array_fill(0, self::PARALLEL, ['query' => $query, 'body' => 'contactId=1001']));
        $this->assertSame([], array_diff(array_column($answers, 'status'), [200]), json_encode(array_count_values(array_column($answers, 'status'))));

        $rows = $this->log();
        $this->assertCount(self::PARALLEL, $rows, 'one row per webhook, none lost');
        $this->assertSame([200], array_values(array_unique(array_map('intval', array_column($rows, 'status')))));
        $outcomes = array_count_values(array_column($rows, 'outcome'));
        $this->assertSame(1, $outcomes['created'] ?? 0, 'one webhook created the user: ' . json_encode($outcomes));
        $user = $this->linkedUser('keap', '1001');
        $this->assertNotNull($user);
        $created = array_values(array_filter($rows, static fn ($r) => $r['outcome'] === 'created'))[0];
        $this->assertSame((string) $user, $created['user_id']);
        $this->assertSame(['keap', 'add', '1001'], [$created['crm'], $created['action'], $created['contact_id']]);
        $this->assertGreaterThanOrEqual(1, (int) $created['api_calls'], 'the contact was fetched');
        foreach ($rows as $row) {
            $this->assertStringNotContainsString(self::$key, json_encode($row), 'the access key is never stored');
        }
    }

    public function testFiftyConcurrentWebhooksInAutomaticModeLeaveFiftyRowsAndTheJobsTheirs(): void
    {
        $this->configure('keap');
        $query = http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]);
        $answers = $this->parallel(array_fill(0, self::PARALLEL, ['query' => $query, 'body' => 'contactId=1001']));
        $statuses = array_column($answers, 'status');
        $this->assertSame([], array_diff($statuses, [200, 202]), json_encode(array_count_values($statuses)));
        $this->assertTrue($this->queueIdle(60), 'the queue drained');

        $webhooks = $this->log("via = 'webhook'");
        $this->assertCount(self::PARALLEL, $webhooks, 'one row per webhook, merged ones too');
        $this->assertSame(count(array_keys($statuses, 202, true)), count(array_filter($webhooks, static fn ($r) => $r['outcome'] === 'queued' && $r['job_id'] !== null)), 'each 202 is a queued row naming its job');
        $jobs = array_map('strval', array_column($this->rows("SELECT id FROM wp_crmhook_queue WHERE status = 'done'"), 'id'));
        $ran = $this->log("via = 'queue'");
        $this->assertSame(count($jobs), count($ran), 'a row per job the queue ran: ' . json_encode([$this->rows('SELECT id, status, attempts, last_error FROM wp_crmhook_queue'), $ran]));
        $this->assertSame([], array_diff(array_column($ran, 'job_id'), $jobs));
    }

    public function testATestAndWrongKeysAreLoggedWithoutTheKeys(): void
    {
        $this->configure('activecampaign');
        $test = $this->get('test');
        $this->assertSame(200, $test['status']);
        $rows = $this->log();
        $this->assertCount(1, $rows);
        $this->assertSame(['test', '200', 'test', 'activecampaign'], [$rows[0]['action'], $rows[0]['status'], $rows[0]['outcome'], $rows[0]['crm']]);

        $guesses = [];
        for ($i = 0; $i < 4; $i++) {
            $guesses[] = "GuessedKey{$i}x" . bin2hex(random_bytes(6));
            $answer = $this->request('GET', http_build_query(['wpf_action' => 'add', 'access_key' => end($guesses), 'contact_id' => '1001']));
            $this->assertSame(403, $answer['status']);
        }
        $refused = $this->log("outcome = 'refused'");
        // One row a minute: two only when the guesses straddled a minute boundary.
        $this->assertLessThanOrEqual(2, count($refused), json_encode($refused));
        $this->assertSame(4, array_sum(array_map('intval', array_column($refused, 'count'))), 'every guess counted');
        $this->assertSame(['403', 'add', '127.0.0.1'], [$refused[0]['status'], $refused[0]['action'], $refused[0]['address']]);
        $dump = json_encode($this->log());
        foreach (array_merge($guesses, [self::$key]) as $key) {
            $this->assertStringNotContainsString($key, (string) $dump);
        }
        $this->assertSame(0, $this->userCount() - 1, 'nothing written');
    }

    public function testAFailedWebhookRunsAgainFromTheLogScreen(): void
    {
        $this->configure('activecampaign', ['queue_mode' => 'immediate']);
        $this->fault(['crm' => 'activecampaign', 'path' => '/api/3/contacts/1001', 'status' => 503, 'body' => ['message' => 'down']]);
        $answer = $this->sendWebhook('activecampaign', 'add', '1001');
        $this->assertSame(502, $answer['status'], $answer['body']);
        $failed = $this->log();
        $this->assertCount(1, $failed);
        $this->assertSame(['failed', '502', '1001'], [$failed[0]['outcome'], $failed[0]['status'], $failed[0]['contact_id']]);
        $id = $failed[0]['id'];

        $jar = $this->adminLogin();
        $page = $this->adminGet($jar, '/wp-admin/tools.php?page=crmhook-log&outcome=failed');
        $this->assertSame(200, $page['status']);
        $this->assertMatchesRegularExpression('#<tr id="crmhook-log-' . $id . '" class="[^"]*crmhook-log-failure[^"]*" data-id="' . $id . '" data-outcome="failed"#', $page['body']);
        $this->assertSame(1, preg_match('#class="crmhook-log-run-again" href="([^"]+)"#', $page['body'], $m), 'a Run again link');
        $link = html_entity_decode($m[1]);
        $this->assertStringContainsString('_wpnonce=', $link);

        // A wrong nonce changes nothing.
        $path = substr($link, strlen(self::$site));
        $refused = $this->adminGet($jar, preg_replace('/_wpnonce=\w+/', '_wpnonce=nope', $path));
        $this->assertSame(403, $refused['status']);
        $this->assertSame([], $this->rows('SELECT id FROM wp_crmhook_queue'));

        $this->emulatorCall('DELETE', '/_emulator/faults');
        $ran = $this->adminGet($jar, $path);
        $this->assertSame(302, $ran['status']);
        $this->assertMatchesRegularExpression('/crmhook_ran=[1-9]\d*/', $ran['headers']['location'] ?? '');
        $this->assertTrue($this->waitFor(fn () => $this->log("via = 'queue'") !== [], 60), 'the job ran');
        $again = $this->log("via = 'queue'");
        $this->assertSame(['created', '1001', 'add'], [$again[0]['outcome'], $again[0]['contact_id'], $again[0]['action']]);
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $this->assertNotNull($this->userByEmail($contact['email']));
    }

    public function testTheCsvExportAnswersWithTheRowsAndNoFormulas(): void
    {
        $this->configure('activecampaign', ['queue_mode' => 'immediate']);
        $this->assertSame(200, $this->get('test')['status']);
        $this->assertSame(200, $this->sendWebhook('activecampaign', 'add', '1001')['status']);
        self::$db->query("INSERT INTO wp_crmhook_log (time, crm, action, contact_id, status, outcome, message) VALUES (UTC_TIMESTAMP(3), 'keap', 'add', '9', 502, 'failed', '=HYPERLINK(\"http://evil.test\")')");

        $jar = $this->adminLogin();
        $page = $this->adminGet($jar, '/wp-admin/tools.php?page=crmhook-log');
        $this->assertSame(1, preg_match('#<a href="([^"]+)" class="page-title-action" id="crmhook-log-export">#', $page['body'], $m), 'an export link');
        $export = substr(html_entity_decode($m[1]), strlen(self::$site));

        $csv = $this->adminGet($jar, $export);
        $this->assertSame(200, $csv['status']);
        $this->assertStringStartsWith('text/csv', $csv['headers']['content-type'] ?? '');
        $this->assertStringContainsString('attachment', $csv['headers']['content-disposition'] ?? '');
        $lines = array_map('str_getcsv', array_filter(explode("\n", trim($csv['body']))));
        $this->assertSame('id', $lines[0][0]);
        $this->assertCount(4, $lines, 'a header and three rows: ' . $csv['body']);
        $byOutcome = array_column(array_map(static fn ($l) => array_combine($lines[0], $l), array_slice($lines, 1)), null, 'outcome');
        $this->assertSame('test', $byOutcome['test']['action']);
        $this->assertSame('1001', $byOutcome['created']['contact_id']);
        $this->assertSame("'=HYPERLINK(\"http://evil.test\")", $byOutcome['failed']['message'], 'a formula is quoted');
        $this->assertStringNotContainsString(self::$key, $csv['body']);

        // Filters apply; a wrong nonce gets nothing.
        $only = $this->adminGet($jar, $export . '&outcome=created');
        $this->assertCount(2, array_filter(explode("\n", trim($only['body']))));
        $this->assertSame(403, $this->adminGet($jar, preg_replace('/_wpnonce=\w+/', '_wpnonce=nope', $export))['status']);
    }

    /** @return list<array<string, ?string>> The log's rows, oldest first. */
    private function log(string $where = '1=1'): array
    {
        // Every value as text (or null), whatever type the driver hands back.
        return array_map(
            static fn (array $row): array => array_map(static fn ($v) => $v === null ? null : (string) $v, $row),
            $this->rows("SELECT * FROM wp_crmhook_log WHERE $where ORDER BY id")
        );
    }
}
