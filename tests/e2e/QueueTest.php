<?php
/**
 * The webhook queue through the real stack: merged bursts, arrival order, the CRM's rate limit and
 * Retry-After, failed jobs on the settings screen, a runner killed mid-job, two web servers on one
 * database, and a database restart between accept and processing.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class QueueTest extends E2ETestCase
{
    private const AC = 'activecampaign';

    /** The settings screen, where failed jobs are listed. */
    private const SCREEN = '/wp-admin/options-general.php?page=crmhook';

    protected function tearDown(): void
    {
        $this->emulatorCall('DELETE', '/_emulator/limits');
        $this->emulatorCall('DELETE', '/_emulator/faults');
    }

    public function testABurstForOneContactIsMergedIntoOneJobAndOneFetch(): void
    {
        $this->configure(self::AC, ['queue_mode' => 'background']);
        $this->holdBudget(4); // the runner waits for the CRM's budget: the burst lands meanwhile
        $statuses = [];
        foreach (['update_tags', 'add', 'update', 'update_tags', 'update'] as $action) {
            $statuses[] = $this->sendWebhook(self::AC, $action, '1001')['status'];
        }
        foreach (['update', 'update'] as $action) {
            $statuses[] = $this->sendWebhook(self::AC, $action, '1002')['status'];
        }
        $this->assertSame(array_fill(0, 7, 202), $statuses);

        $jobs = $this->rows('SELECT contact_id, action, webhooks FROM wp_crmhook_queue ORDER BY contact_id');
        $this->assertSame([
            ['contact_id' => '1001', 'action' => 'add', 'webhooks' => 5],
            ['contact_id' => '1002', 'action' => 'update', 'webhooks' => 2],
        ], $jobs, 'one job per contact, the stronger action');

        $this->assertTrue($this->drained(30), 'the queue drained: ' . json_encode($this->jobs()));
        $this->assertSame(1, $this->fetches('1001'), 'five webhooks, one contact fetch');
        $this->assertSame(1, $this->fetches('1002'));
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $user = $this->userByEmail($contact['email']);
        $this->assertNotNull($user, 'the merged add created the user');
        $this->assertSame(['Customer', 'VIP'], $this->tags((int) $user['ID'], self::AC));
        $second = $this->rows("SELECT status, last_status, last_error FROM wp_crmhook_queue WHERE contact_id = '1002'")[0];
        $this->assertSame(['status' => 'done', 'last_status' => 200], array_slice($second, 0, 2));
        $this->assertStringContainsString('No WordPress user', (string) $second['last_error']);
    }

    public function testUpdatesArrivingOutOfOrderConvergeOnTheCrmsLatestState(): void
    {
        $this->configure(self::AC, ['queue_mode' => 'background']);
        $this->assertSame(200, $this->sendWebhook(self::AC, 'add', '1001', ['async' => 'false'])['status']);
        $stale = 'contact%5Bid%5D=1001&contact%5Bfirst_name%5D=Ann&contact%5Btags%5D=Customer%2C+VIP';
        // The CRM changes the contact; the webhook about the change overtakes the one before it.
        $changed = ['first_name' => 'Annie', 'tags' => ['3']] + $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $this->emulatorCall('PUT', '/_emulator/contacts/activecampaign/1001', $changed);
        $fresh = 'contact%5Bid%5D=1001&contact%5Bfirst_name%5D=Annie&contact%5Btags%5D=Newsletter';
        foreach ([$fresh, $stale] as $body) {
            $answer = $this->request('POST', http_build_query(['wpf_action' => 'update', 'access_key' => self::$key]), $body, 'application/x-www-form-urlencoded');
            $this->assertSame(202, $answer['status'], $answer['body']);
        }
        $this->assertTrue($this->drained(30), json_encode($this->jobs()));
        $user = (int) $this->linkedUser(self::AC, '1001');
        $this->assertSame('Annie', $this->meta($user, 'first_name'));
        $this->assertSame(['Newsletter'], $this->tags($user, self::AC), 'the CRM\'s latest tags, whatever the arrival order');
    }

    public function testRateLimitedCallsWaitRetryAfterThenBackOffAndSucceed(): void
    {
        $this->configure(self::AC, ['queue_mode' => 'background', 'queue_backoff' => 1]);
        // Twice "429, Retry-After: 1": the extension waits it and retries once, then the queue backs off.
        $this->fault(['crm' => self::AC, 'path' => '/api/3/contacts/1001', 'status' => 429, 'retry_after' => 1, 'times' => 2, 'body' => ['message' => 'Too Many Requests']]);
        $this->assertSame(202, $this->sendWebhook(self::AC, 'add', '1001', ['async' => 'true'])['status']);
        $this->assertTrue($this->drained(40), json_encode($this->jobs()));

        $job = $this->jobs()[0];
        $this->assertSame(['status' => 'done', 'attempts' => 2, 'last_status' => 200], ['status' => $job['status'], 'attempts' => $job['attempts'], 'last_status' => $job['last_status']]);
        $gets = array_values(array_filter($this->crmCalls(self::AC), static fn ($c) => $c['method'] === 'GET' && $c['path'] === '/api/3/contacts/1001'));
        $this->assertCount(3, $gets, '429, 429 after Retry-After, then the retried job');
        $this->assertGreaterThanOrEqual(0.95, $gets[1]['time'] - $gets[0]['time'], 'Retry-After: 1 was honoured');
        $this->assertGreaterThanOrEqual(1.9, $gets[2]['time'] - $gets[1]['time'], 'the queue paused the CRM after its 429');
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $this->assertCount(1, $this->rows('SELECT ID FROM wp_users WHERE user_email = ?', 's', $contact['email']));
    }

    public function testAJobThatFailsWhileANewerWebhookWaitsMergesIntoIt(): void
    {
        $this->configure(self::AC, ['queue_mode' => 'background', 'queue_backoff' => 1]);
        // The CRM is down for the first job's two calls (the extension retries once, 2 s later).
        $this->fault(['crm' => self::AC, 'path' => '/api/3/contacts/1001', 'status' => 503, 'retry_after' => 2, 'times' => 2, 'body' => ['message' => 'down']]);
        $this->assertSame(202, $this->sendWebhook(self::AC, 'add', '1001', ['async' => 'true'])['status']);
        $this->assertTrue($this->waitFor(fn () => ($this->jobs()[0]['status'] ?? '') === 'running', 10), json_encode($this->jobs()));
        // Meanwhile a weaker webhook for the contact arrives: a new waiting job.
        $this->assertSame(202, $this->sendWebhook(self::AC, 'update_tags', '1001', ['async' => 'true'])['status']);
        $this->assertTrue($this->drained(40), json_encode($this->jobs()));

        [$first, $second] = $this->jobs();
        $this->assertSame('done', $first['status']);
        $this->assertStringContainsString('Merged into job ' . $second['id'], (string) $first['last_error']);
        $this->assertSame(['done', 'add', 2], [$second['status'], $second['action'], $second['webhooks']], 'the failed add carried over');
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $this->assertCount(1, $this->rows('SELECT ID FROM wp_users WHERE user_email = ?', 's', $contact['email']), 'the add happened, once');
    }

    public function testTheQueueStaysWithinTheCrmsRateLimit(): void
    {
        $this->configure(self::AC, ['queue_mode' => 'background']);
        $this->emulatorPost('/_emulator/limits', ['crm' => self::AC]); // 5 calls/s, then 429
        $ids = range(2001, 2015);
        $this->createContacts($ids);
        foreach ($ids as $id) {
            $answer = $this->request('POST', http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]), "contact%5Bid%5D=$id", 'application/x-www-form-urlencoded');
            $this->assertSame(202, $answer['status'], $answer['body']);
        }
        $this->assertTrue($this->drained(60), json_encode($this->jobs()));
        // The queue paces contact fetches; the tag-name list (once per PHP worker) is not paced and
        // may meet the limit, which the extension then waits out (Retry-After) and retries.
        $limited = array_filter($this->crmCalls(self::AC), static fn ($c) => !empty($c['limited']) && $c['path'] !== '/api/3/tags');
        $this->assertSame([], array_values($limited), 'no contact fetch went past the CRM\'s limit');
        foreach ($ids as $id) {
            $this->assertSame(1, $this->fetches((string) $id), "contact $id fetched once");
            $this->assertNotNull($this->userByEmail("c$id@example.com"), "user of contact $id");
        }
    }

    public function testOneRunnerStartedAloneBringsUpTheOthersWhileJobsWait(): void
    {
        $this->configure(self::AC, ['queue_mode' => 'background', 'queue_runners' => 3]);
        $ids = range(6001, 6030);
        $this->createContacts($ids);
        $this->fault(['crm' => self::AC, 'path' => '#^/api/3/contacts/60\d\d$#', 'mode' => 'delay', 'delay_ms' => 300]);
        // Thirty jobs stored as webhooks store them, and one runner start, as a burst shorter
        // than a second makes (runners are started one a second).
        $this->wp('foreach (range(6001, 6030) as $id) { CrmHook_Queue::enqueue(["crm" => "activecampaign", "contact_id" => (string) $id, "action" => "add"]); } return "queued";');
        $this->assertSame(30, count($this->jobs()));
        $this->wp('CrmHook_Runner::kick(); return "started";');
        $busy = 0;
        $this->assertTrue($this->waitFor(function () use (&$busy): bool {
            $busy = (int) self::$db->query("SELECT (IS_USED_LOCK('crmhook_runner_1') IS NOT NULL) + (IS_USED_LOCK('crmhook_runner_2') IS NOT NULL) + (IS_USED_LOCK('crmhook_runner_3') IS NOT NULL)")->fetch_row()[0];
            return 3 === $busy;
        }, 10, 50), "three runners at work while jobs wait, not $busy");
        $this->assertTrue($this->drained(60), json_encode($this->jobs()));
        foreach ($ids as $id) {
            $this->assertSame(1, $this->fetches((string) $id), "contact $id fetched once");
        }
    }

    public function testTheEmulatorsLimitAnswers429WithRetryAfter(): void
    {
        $this->configure(self::AC);
        $this->emulatorPost('/_emulator/limits', ['crm' => self::AC, 'rate' => 1, 'burst' => 1]);
        $config = ['crm' => self::AC, 'api_url' => self::$emulator . '/' . self::AC] + self::$credentials[self::AC];
        crmhook_fetch_contact($config, '1001');
        $curl = curl_init(self::$emulator . '/activecampaign/api/3/contacts/1001');
        curl_setopt_array($curl, [CURLOPT_RETURNTRANSFER => true, CURLOPT_HEADER => true, CURLOPT_HTTPHEADER => ['Api-Token: ' . self::$credentials[self::AC]['api_key']]]);
        $raw = (string) curl_exec($curl);
        $this->assertSame(429, curl_getinfo($curl, CURLINFO_RESPONSE_CODE));
        $this->assertMatchesRegularExpression('/^Retry-After: 1\r?$/mi', $raw);
    }

    public function testAFailedJobIsShownOnTheSettingsScreenAndRetriedFromIt(): void
    {
        $this->configure(self::AC, ['queue_mode' => 'background', 'queue_max_attempts' => 2, 'queue_backoff' => 1]);
        $this->fault(['crm' => self::AC, 'path' => '/api/3/contacts/1001', 'status' => 503, 'body' => ['message' => 'down']]);
        $this->assertSame(202, $this->sendWebhook(self::AC, 'add', '1001', ['async' => 'true'])['status']);
        $this->assertTrue($this->waitFor(fn () => ($this->jobs()[0]['status'] ?? '') === 'failed', 40), json_encode($this->jobs()));
        $job = $this->jobs()[0];
        $this->assertSame(2, $job['attempts']);
        $this->assertStringContainsString('HTTP 503', (string) $job['last_error']);

        $cookies = $this->adminLogin();
        $page = $this->adminGet($cookies, self::SCREEN);
        $this->assertSame(200, $page['status']);
        $this->assertMatchesRegularExpression('#<tr class="crmhook-failed-job" data-job="' . $job['id'] . '">#', $page['body']);
        $this->assertStringContainsString(htmlspecialchars((string) $job['last_error'], ENT_QUOTES), $page['body'], 'the CRM\'s message, escaped');
        $this->assertMatchesRegularExpression('#class="crmhook-queue-failed">1<#', $page['body']);
        $this->assertSame(1, preg_match('#name="job" value="' . $job['id'] . '">\s*<input type="hidden" name="do" value="retry">\s*<input type="hidden" id="_wpnonce" name="_wpnonce" value="(\w+)"#', $page['body'], $m), 'a retry form with a nonce');

        // A wrong nonce changes nothing.
        $refused = $this->adminPost($cookies, '/wp-admin/admin-post.php', ['action' => 'crmhook_queue_job', 'job' => $job['id'], 'do' => 'retry', '_wpnonce' => 'nope', '_wp_http_referer' => self::SCREEN]);
        $this->assertSame(403, $refused['status']);
        $this->assertSame('failed', $this->jobs()[0]['status']);

        $this->emulatorCall('DELETE', '/_emulator/faults');
        $retried = $this->adminPost($cookies, '/wp-admin/admin-post.php', ['action' => 'crmhook_queue_job', 'job' => $job['id'], 'do' => 'retry', '_wpnonce' => $m[1], '_wp_http_referer' => self::SCREEN]);
        $this->assertSame(302, $retried['status']);
        $this->assertTrue($this->drained(30), json_encode($this->jobs()));
        $this->assertSame('done', $this->jobs()[0]['status']);
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $this->assertNotNull($this->userByEmail($contact['email']));
    }

    public function testARunnerKilledMidJobIsReplacedAndTheJobMakesOneUser(): void
    {
        // The password goes back to the CRM after the user is created: that call is slowed, and the
        // runner is killed (kill -9) while it waits, with the user already written.
        $this->configure(self::AC, ['queue_mode' => 'background', 'return_password_field' => '13']);
        $this->fault(['crm' => self::AC, 'path' => '#^/api/3/contacts/1001$#', 'mode' => 'delay', 'delay_ms' => 3000, 'times' => 2]);
        $this->assertSame(202, $this->sendWebhook(self::AC, 'add', '1001', ['async' => 'true'])['status']);
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $this->assertTrue($this->waitFor(fn () => $this->userByEmail($contact['email']) !== null && ($this->jobs()[0]['status'] ?? '') === 'running', 20), json_encode($this->jobs()));

        $job = $this->jobs()[0];
        [, $pid] = explode(':', (string) $job['claimed_by']);
        $this->assertStringContainsString('php-fpm', (string) @file_get_contents("/proc/$pid/cmdline"), 'the runner is a php-fpm worker');
        $this->assertTrue(posix_kill((int) $pid, SIGKILL));
        $this->assertTrue($this->waitFor(static fn () => !file_exists("/proc/$pid/cmdline") || str_contains((string) @file_get_contents("/proc/$pid/stat"), ') Z'), 5));
        $this->assertSame('running', $this->jobs()[0]['status'], 'the job is still claimed by the dead runner');

        $out = $this->runQueue(15);
        $this->assertStringContainsString('ran 1 jobs', $out);
        $job = $this->jobs()[0];
        $this->assertSame(['done', 2], [$job['status'], $job['attempts']], json_encode($job));
        $this->assertCount(1, $this->rows('SELECT ID FROM wp_users WHERE user_email = ?', 's', $contact['email']), 'one user');
        $this->assertCount(1, $this->rows("SELECT user_id FROM wp_crmhook_contacts WHERE crm = 'activecampaign' AND contact_id = '1001'"));
    }

    public function testTwoWebServersOnOneDatabaseRunEachJobOnce(): void
    {
        $site2 = getenv('SITE2_URL') ?: 'http://127.0.0.1:8089';
        $this->configure(self::AC, ['queue_mode' => 'background', 'queue_runners' => 4]);
        $ids = range(3001, 3020);
        $this->createContacts($ids);
        $this->holdBudget(3);
        foreach ($ids as $i => $id) {
            // Half the webhooks reach each server.
            $url = ($i % 2 ? $site2 : self::$site) . '/?' . http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]);
            $answer = $this->post($url, "contact%5Bid%5D=$id");
            $this->assertSame(202, $answer['status'], $answer['body']);
        }
        // Runners on the second server too (the loopback goes to the site's own address).
        $token = $this->wp('return CrmHook_Runner::token();');
        for ($i = 0; $i < 2; $i++) {
            $this->assertSame(202, $this->post($site2 . '/?crmhook_runner=' . $token, null)['status']);
        }
        $this->assertTrue($this->drained(60), json_encode($this->jobs()));

        $pools = [];
        foreach ($this->jobs() as $job) {
            $this->assertSame(['done', 1, 200], [$job['status'], $job['attempts'], $job['last_status']], json_encode($job));
            [, $pid] = explode(':', (string) $job['claimed_by']);
            $cmdline = (string) @file_get_contents("/proc/$pid/cmdline");
            $pools[str_contains($cmdline, 'crmhook-b') ? 'b' : 'a'] = true;
        }
        ksort($pools);
        $this->assertSame(['a' => true, 'b' => true], $pools, 'both web servers ran jobs');
        foreach ($ids as $id) {
            $this->assertSame(1, $this->fetches((string) $id), "contact $id fetched once");
            $this->assertCount(1, $this->rows('SELECT ID FROM wp_users WHERE user_email = ?', 's', "c$id@example.com"));
        }
    }

    public function testAJobAcceptedBeforeADatabaseRestartRunsAfterIt(): void
    {
        $this->configure(self::AC, ['queue_mode' => 'background']);
        $this->holdBudget(600); // no runner can start it before the restart
        $this->assertSame(202, $this->sendWebhook(self::AC, 'add', '1001', ['async' => 'true'])['status']);
        $this->assertSame('queued', $this->jobs()[0]['status']);

        $cnf = self::$runDir . '/mariadb/my.cnf';
        exec('mariadb-admin --defaults-file=' . escapeshellarg($cnf) . ' shutdown 2>&1', $out, $status);
        $this->assertSame(0, $status, implode("\n", $out));
        exec(escapeshellarg(dirname(__DIR__, 2) . '/scripts/site/up.sh') . ' 2>&1', $out, $status);
        $this->assertSame(0, $status, implode("\n", $out));
        $this->assertStringContainsString('starting MariaDB', implode("\n", $out), 'the database really restarted');
        self::$db = self::connectDb();

        // Queued, or still claimed by a runner the restart cut off (its claim is then released).
        $this->assertCount(1, $this->jobs(), 'the accepted job survived the restart');
        $this->assertContains($this->jobs()[0]['status'], ['queued', 'running']);
        self::$db->query('DELETE FROM wp_crmhook_budget');
        $this->runQueue(10);
        $this->assertSame('done', $this->jobs()[0]['status'], json_encode($this->jobs()));
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $this->assertCount(1, $this->rows('SELECT ID FROM wp_users WHERE user_email = ?', 's', $contact['email']));
    }

    public function testTheCliRunnerRefusesWithoutWordPress(): void
    {
        exec(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg(dirname(__DIR__, 2) . '/wordpress-plugin/crmhook/bin/run-queue.php') . ' --wp=/nonexistent 2>&1', $out, $status);
        $this->assertSame(1, $status);
        $this->assertStringContainsString('no WordPress at /nonexistent', implode("\n", $out));
    }

    public function testACrmOutageDuringAnInlineWebhookQueuesItInsteadOfLosingIt(): void
    {
        // Automatic mode, an idle site: the webhook runs inline, and the CRM is down. CRMs never
        // resend a webhook answered 5xx, so it is kept in the queue and answered 202.
        $this->configure(self::AC, ['queue_mode' => 'auto']);
        $this->fault(['crm' => self::AC, 'path' => '/api/3/contacts', 'mode' => 'status', 'status' => 503, 'times' => 2]);
        $answer = $this->sendWebhook(self::AC, 'add', '1001');
        $this->assertSame(202, $answer['status'], $answer['body']);
        $this->assertTrue($answer['json']['queued']);
        $this->assertSame(['1001'], array_column($this->jobs(), 'contact_id'), 'the webhook is in the queue');

        $this->assertTrue($this->drained(30), 'the queue drained: ' . json_encode($this->jobs()));
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/activecampaign/1001');
        $this->assertNotNull($this->userByEmail($contact['email']), 'the user was made once the CRM answered');
    }

    public function testAskingForAnImmediateAnswerStillGetsTheCrmsFailure(): void
    {
        $this->configure(self::AC, ['queue_mode' => 'auto']);
        $this->fault(['crm' => self::AC, 'path' => '/api/3/contacts', 'mode' => 'status', 'status' => 503, 'times' => 2]);
        $answer = $this->sendWebhook(self::AC, 'add', '1001', ['async' => 'false']);
        $this->assertSame(502, $answer['status'], $answer['body']);
        $this->assertSame([], $this->jobs(), 'async=false: nothing queued');
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** GETs of an ActiveCampaign contact that the CRM answered (not rate limited). */
    private function fetches(string $id): int
    {
        return count(array_filter($this->crmCalls(self::AC), static fn ($c) => $c['method'] === 'GET' && $c['path'] === "/api/3/contacts/$id" && empty($c['limited'])));
    }

    /** @param list<int> $ids */
    private function createContacts(array $ids): void
    {
        $contacts = [];
        foreach ($ids as $id) {
            $contacts[(string) $id] = ['email' => "c$id@example.com", 'first_name' => "C$id", 'last_name' => 'Queue', 'fields' => [], 'tags' => ['1']];
        }
        $this->emulatorPost('/_emulator/contacts/activecampaign', ['contacts' => $contacts]);
    }

    private function runQueue(int $seconds): string
    {
        $so = getenv('CRMHOOK_SO') ?: dirname(__DIR__, 2) . '/target/release/libcrmhook.so';
        $cmd = sprintf(
            '%s -d extension=%s %s --wp=%s --seconds=%d 2>&1',
            escapeshellarg(PHP_BINARY),
            escapeshellarg($so),
            escapeshellarg(dirname(__DIR__, 2) . '/wordpress-plugin/crmhook/bin/run-queue.php'),
            escapeshellarg(self::$runDir . '/wordpress'),
            $seconds
        );
        exec($cmd, $out, $status);
        $this->assertSame(0, $status, implode("\n", $out));
        return implode("\n", $out);
    }

    /** @return array{status: int, body: string} */
    private function post(string $url, ?string $body): array
    {
        $curl = curl_init($url);
        curl_setopt_array($curl, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 30]);
        if ($body !== null) {
            curl_setopt_array($curl, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $body, CURLOPT_HTTPHEADER => ['Content-Type: application/x-www-form-urlencoded']]);
        }
        $answer = (string) curl_exec($curl);
        return ['status' => (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE), 'body' => $answer];
    }
}
