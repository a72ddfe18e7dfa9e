<?php
/**
 * What a webhook may touch, end to end through nginx + php-fpm: privileged users never, users
 * only by their contact link or the CRM's own email (never the request's), a CRM password only
 * for users made from that contact; JSON bodies read only where a webhook can be; wrong keys
 * counted atomically; logins that collide under concurrency; both emails locked.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class SecurityTest extends E2ETestCase
{
    /** Puts a contact into the emulator's CRM. */
    private function crmContactIs(string $crm, string $id, array $contact): void
    {
        $this->emulatorCall('PUT', "/_emulator/contacts/$crm/$id", $contact + ['tags' => ['1']]);
    }

    /** @return array<string, string> Every usermeta row of a user, key => value. */
    private function allMeta(int $userId): array
    {
        $rows = $this->rows('SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = ? ORDER BY umeta_id', 'i', $userId);
        return array_column($rows, 'meta_value', 'meta_key');
    }

    private function adminEmail(): string
    {
        return $this->rows('SELECT user_email FROM wp_users WHERE ID = 1')[0]['user_email'];
    }

    private function passwordIs(int $userId, string $password): bool
    {
        return $this->wp(sprintf('return wp_check_password(%s, get_userdata(%d)->user_pass, %2$d) ? "yes" : "no";', var_export($password, true), $userId)) === 'yes';
    }

    // ---- privileged users ----------------------------------------------------------------

    public function testAContactWithTheAdministratorsEmailNeverTouchesTheAdministrator(): void
    {
        $this->configure('activecampaign', ['field_map' => ['12' => 'nickname', '14' => 'user_pass'], 'update_existing_passwords' => true]);
        $this->crmContactIs('activecampaign', '2001', ['email' => strtoupper($this->adminEmail()), 'first_name' => 'Mallory', 'last_name' => 'Admin', 'fields' => ['12' => 'pwned', '14' => 'Attacker-Pass-1']]);
        $user = $this->rows('SELECT * FROM wp_users WHERE ID = 1')[0];
        $meta = $this->allMeta(1);

        foreach (['add', 'update', 'update_tags'] as $action) {
            $answer = $this->get($action, ['contact_id' => '2001']);
            $this->assertSame(200, $answer['status'], $answer['body']);
            $this->assertFalse($answer['json']['ok'], "$action: " . $answer['body']);
            if ($action === 'add') {
                $this->assertStringContainsString('User 1 is privileged', $answer['json']['message']);
            }
        }
        $this->assertSame($user, $this->rows('SELECT * FROM wp_users WHERE ID = 1')[0], 'the administrator\'s row is unchanged');
        $this->assertSame($meta, $this->allMeta(1), 'no meta, tags or link meta written');
        $this->assertNull($this->linkedUser('activecampaign', '2001'), 'never linked by email');
        $this->assertSame(1, $this->userCount(), 'and no second account made for that email');
    }

    public function testAContactAlreadyLinkedToAnAdministratorChangesNothing(): void
    {
        $this->configure('activecampaign', ['field_map' => ['12' => 'nickname']]);
        self::$db->query("INSERT INTO wp_crmhook_contacts VALUES ('activecampaign', '1001', 1, NOW())");
        $user = $this->rows('SELECT * FROM wp_users WHERE ID = 1')[0];
        $meta = $this->allMeta(1);

        $answer = $this->sendWebhook('activecampaign', 'update', '1001');
        $this->assertFalse($answer['json']['ok'], $answer['body']);
        // Tags from the payload alone: the same refusal.
        $payload = $this->request('POST', http_build_query(['wpf_action' => 'update_tags', 'access_key' => self::$key]),
            http_build_query(['contact' => ['id' => '1001', 'tags' => 'Gold, Silver']]), 'application/x-www-form-urlencoded');
        $this->assertSame(200, $payload['status']);
        $this->assertFalse($payload['json']['ok'], $payload['body']);
        $this->assertStringContainsString('privileged', $payload['json']['message']);
        $this->assertSame($user, $this->rows('SELECT * FROM wp_users WHERE ID = 1')[0]);
        $this->assertSame($meta, $this->allMeta(1));
    }

    public function testAnEditorIsPrivilegedToo(): void
    {
        $this->configure('keap');
        $contact = crmhook_fetch_contact(['crm' => 'keap', 'api_url' => self::$emulator . '/keap'] + self::$credentials['keap'], '1001');
        $id = (int) $this->wp(sprintf('return wp_insert_user(["user_login" => "ed", "user_email" => %s, "user_pass" => "x", "role" => "editor"]);', var_export($contact['email'], true)));
        $answer = $this->sendWebhook('keap', 'add', '1001');
        $this->assertFalse($answer['json']['ok'], $answer['body']);
        $this->assertSame([], $this->tags($id, 'keap'));
        $this->assertNull($this->linkedUser('keap', '1001'));
    }

    // ---- who a webhook may touch ---------------------------------------------------------------

    public function testAnEmailInTheRequestNeverPicksAUser(): void
    {
        $this->configure('funnelkit');
        $this->wp('return wp_insert_user(["user_login" => "other", "user_email" => "other@example.org", "user_pass" => "x"]);');
        $other = $this->userByEmail('other@example.org');

        $answer = $this->get('update', ['contact_id' => '1001', 'email' => 'other@example.org']);
        $this->assertSame(200, $answer['status']);
        $this->assertFalse($answer['json']['ok'], $answer['body']);
        $this->assertStringContainsString('No WordPress user is linked to contact 1001', $answer['json']['message']);
        $this->assertNull($this->linkedUser('funnelkit', '1001'));
        $this->assertSame($other, $this->userByEmail('other@example.org'), 'the user the request named is untouched');
    }

    public function testPayloadTagsReachOnlyAUserAlreadyLinkedToTheContact(): void
    {
        $this->configure('activecampaign');
        $this->wp('return wp_insert_user(["user_login" => "victim", "user_email" => "victim@example.org", "user_pass" => "x"]);');
        $victim = (int) $this->userByEmail('victim@example.org')['ID'];
        $answer = $this->request('POST', http_build_query(['wpf_action' => 'update_tags', 'access_key' => self::$key]),
            http_build_query(['contact' => ['id' => '1002', 'email' => 'victim@example.org', 'tags' => 'Gold']]), 'application/x-www-form-urlencoded');
        $this->assertFalse($answer['json']['ok'], $answer['body']);
        $this->assertSame([], $this->tags($victim, 'activecampaign'));
        $this->assertNull($this->linkedUser('activecampaign', '1002'));
    }

    public function testAMappedPasswordReachesOnlyUsersCreatedFromThatContact(): void
    {
        $this->configure('keap', ['field_map' => ['14' => 'user_pass']]);
        $contact = crmhook_fetch_contact(['crm' => 'keap', 'api_url' => self::$emulator . '/keap'] + self::$credentials['keap'], '1004');
        $this->assertNotSame('', (string) ($contact['fields']['14'] ?? ''), 'the seed has a password field');
        $id = (int) $this->wp(sprintf('return wp_insert_user(["user_login" => "pre", "user_email" => %s, "user_pass" => "Own-Pass-9"]);', var_export($contact['email'], true)));

        $answer = $this->sendWebhook('keap', 'update', '1004');
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame($id, $this->linkedUser('keap', '1004'), 'found by the CRM\'s email and linked');
        $this->assertTrue($this->passwordIs($id, 'Own-Pass-9'), 'a user the site did not create keeps their password');

        // A user the site created from the contact: the CRM owns that password.
        $this->resetSite();
        $created = $this->sendWebhook('keap', 'add', '1004');
        $this->assertTrue($created['json']['ok'], $created['body']);
        $newId = (int) $created['json']['user_id'];
        $this->assertTrue($this->passwordIs($newId, (string) $contact['fields']['14']));
    }

    // ---- where a webhook is recognised -------------------------------------------------------------

    public function testJsonBodiesOfOtherRequestsAreNeverTakenOver(): void
    {
        $this->configure('funnelkit');
        $json = (string) json_encode(['wpf_action' => 'test', 'access_key' => self::$key]);
        $elsewhere = $this->parallel([
            ['path' => '/wp-json/wp/v2/posts', 'query' => '', 'body' => $json, 'type' => 'application/json'],
            ['path' => '/', 'query' => 'rest_route=/wp/v2/posts', 'body' => $json, 'type' => 'application/json'],
            ['path' => '/sample-page/', 'query' => '', 'body' => $json, 'type' => 'application/json'],
        ]);
        foreach ($elsewhere as $i => $answer) {
            $this->assertStringNotContainsString('"success":true', $answer['body'], "request $i was answered as a webhook");
            $this->assertArrayNotHasKey('ok', $answer['json'] ?? [], "request $i");
        }
        $front = $this->request('POST', '', $json, 'application/json');
        $this->assertSame(200, $front['status'], $front['body']);
        $this->assertTrue($front['json']['success'] ?? false, 'a JSON webhook to the front URL still works');
    }

    // ---- wrong keys --------------------------------------------------------------------------------

    public function testTheAccessKeyNeverReachesTheServersLogs(): void
    {
        $this->configure('activecampaign');
        // What the servers write from here on (nginx, php-fpm, MariaDB: the harness's logs).
        $logs = glob(self::$runDir . '/logs/*.log') ?: [];
        $this->assertContains(self::$runDir . '/logs/nginx-access.log', $logs);
        $before = [];
        foreach ($logs as $log) {
            clearstatcache(true, $log);
            $before[$log] = (int) filesize($log);
        }
        $right = $this->get('test');
        $this->assertSame(200, $right['status'], $right['body']);
        $this->assertSame(403, $this->request('GET', http_build_query(['wpf_action' => 'test', 'access_key' => 'wrong-' . self::$key]))['status']);
        $written = [];
        foreach ($logs as $log) {
            $written[basename($log)] = (string) file_get_contents($log, false, null, $before[$log]);
        }
        $this->assertStringContainsString('"GET /" 200', $written['nginx-access.log'], 'the webhook was logged, by its path');
        foreach ($written as $name => $text) {
            $this->assertStringNotContainsString(self::$key, $text, $name);
        }
    }

    public function testParallelWrongKeysAreAllCounted(): void
    {
        $this->configure('keap');
        $guess = ['query' => http_build_query(['wpf_action' => 'test', 'access_key' => 'wrong-guess'])];
        try {
            $statuses = array_count_values(array_column($this->parallel(array_fill(0, 30, $guess)), 'status'));
            $rows = count($this->rows('SELECT * FROM wp_crmhook_throttle'));
        } finally {
            // This address is the one every later suite (the browser test) sends from.
            self::$db->query('DELETE FROM wp_crmhook_throttle');
        }
        ksort($statuses);
        $this->assertSame([403 => 20, 429 => 10], $statuses, 'the limit is 20 wrong keys per address; all 30 were counted');
        $this->assertLessThanOrEqual(2, $rows, 'one row per address and minute');
        $this->assertSame([], $this->rows("SELECT option_name FROM wp_options WHERE option_name LIKE '%crmhook_bad_key%'"));
        $right = $this->get('test');
        $this->assertSame(200, $right['status'], 'the right key is never throttled');
    }

    // ---- concurrency ----------------------------------------------------------------------

    public function testContactsWhoseLoginsCollideAllGetAUser(): void
    {
        // Immediately: the twelve race each other inline (automatic mode would queue all but one).
        $this->configure('activecampaign', ['username_format' => 'flname', 'queue_mode' => 'immediate']);
        for ($trial = 1; $trial <= 3; $trial++) {
            $this->resetSite();
            $requests = [];
            for ($n = 1; $n <= 12; $n++) {
                $id = (string) (3000 + $n);
                $this->crmContactIs('activecampaign', $id, ['email' => "john$n.t$trial@example.net", 'first_name' => 'John', 'last_name' => 'Smith']);
                $requests[] = ['query' => http_build_query(['wpf_action' => 'add', 'access_key' => self::$key, 'contact_id' => $id])];
            }
            $answers = $this->parallel($requests);
            foreach ($answers as $answer) {
                $this->assertTrue($answer['json']['ok'] ?? false, "trial $trial: " . $answer['body']);
            }
            $logins = array_column($this->rows("SELECT user_login FROM wp_users WHERE user_email LIKE 'john%.t$trial@example.net'"), 'user_login');
            $this->assertCount(12, $logins, "trial $trial");
            $this->assertCount(12, array_unique($logins), "trial $trial: every login distinct");
            $this->assertContains('johnsmith', $logins);
        }
    }

    public function testAWebhookWaitsForTheLinkedUsersCurrentEmailToo(): void
    {
        $this->configure('keap');
        $created = $this->sendWebhook('keap', 'add', '1001');
        $id = (int) $created['json']['user_id'];
        $old = $this->rows('SELECT user_email FROM wp_users WHERE ID = ?', 'i', $id)[0]['user_email'];
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/keap/1001');
        $this->emulatorCall('PUT', '/_emulator/contacts/keap/1001', ['email' => 'moved@example.net'] + $contact);

        // Another webhook is working on the user's current email (the lock as the plugin names it).
        $lock = 'crmhook_' . md5('email:' . strtolower($old));
        $this->assertSame('1', (string) self::$db->query("SELECT GET_LOCK('$lock', 0)")->fetch_row()[0]);
        try {
            $answer = $this->sendWebhook('keap', 'update', '1001');
            $this->assertSame($old, $this->rows('SELECT user_email FROM wp_users WHERE ID = ?', 'i', $id)[0]['user_email'], 'nothing changed while the email was locked');
            $this->assertFalse($answer['json']['ok'] ?? false, $answer['body']);
        } finally {
            self::$db->query("SELECT RELEASE_LOCK('$lock')");
        }
        $answer = $this->sendWebhook('keap', 'update', '1001');
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame('moved@example.net', $this->rows('SELECT user_email FROM wp_users WHERE ID = ?', 'i', $id)[0]['user_email']);
    }
}
