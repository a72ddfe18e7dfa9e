<?php
/**
 * ConvertKit (API v3) and Kit (API v4) unsubscribes: the automation rule the settings register and
 * deactivation deletes, and the `ck_unsubscribed` / `kit_unsubscribed` webhook it sends.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class UnsubscribeTest extends E2ETestCase
{
    private const ACTIONS = ['convertkit' => 'ck_unsubscribed', 'kit' => 'kit_unsubscribed'];

    /** @return iterable<string, array{string, string}> */
    public static function crms(): iterable
    {
        foreach (self::ACTIONS as $crm => $action) {
            yield $crm => [$crm, $action];
        }
    }

    private const OFF = [
        'ck_unsubscribe_notify' => false, 'ck_unsubscribe_email' => '', 'ck_unsubscribe_remove_role' => '',
        'ck_unsubscribe_clear_tags' => false, 'ck_unsubscribe_rule' => '',
    ];

    /** The settings of other suites are left as they were: these switched off. */
    protected function tearDown(): void
    {
        $this->setOption('crmhook_settings', array_merge((array) $this->option('crmhook_settings'), self::OFF));
    }

    /** @param array<string, mixed> $extra */
    protected function configure(string $crm, array $extra = []): void
    {
        parent::configure($crm, $extra + self::OFF);
    }

    private function addContact(string $crm, string $id): int
    {
        $answer = $this->sendWebhook($crm, 'add', $id, ['async' => 'false']);
        $this->assertSame(200, $answer['status'], $answer['body']);
        $user = $this->linkedUser($crm, $id);
        $this->assertNotNull($user);
        return $user;
    }

    /** @return list<string> Mails to one address. */
    private function mailsTo(string $address): array
    {
        return array_values(array_filter($this->mails(), static fn (string $m) => preg_match('/^To: ' . preg_quote($address, '/') . '\r?$/mi', $m) === 1));
    }

    /** @return array<string, array<string, mixed>> The rules the emulator holds for a CRM. */
    private function rules(string $crm): array
    {
        return $this->emulatorCall('GET', '/_emulator/rules')[$crm] ?? [];
    }

    /** @dataProvider crms */
    public function testAnUnsubscribeMailsTheOwnerRemovesTheRoleAndClearsTheTags(string $crm, string $action): void
    {
        $this->configure($crm, ['ck_unsubscribe_email' => 'owner@example.com', 'ck_unsubscribe_remove_role' => 'subscriber', 'ck_unsubscribe_clear_tags' => true]);
        $user = $this->addContact($crm, '1001');
        $this->assertSame(['subscriber'], $this->roles($user));
        $this->assertNotSame([], $this->tags($user, $crm));

        $answer = $this->sendWebhook($crm, $action, '1001');
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame($action, $answer['json']['action']);
        $this->assertSame($user, $answer['json']['user_id']);
        $this->assertSame('cancelled', $this->emulatorCall('GET', "/_emulator/contacts/$crm/1001")['state'] ?? null, 'the emulator unsubscribed them first');

        $this->assertSame([], $this->roles($user), 'the role was removed');
        $this->assertSame([], $this->tags($user, $crm), 'the tags were cleared');
        $mails = $this->mailsTo('owner@example.com');
        $this->assertCount(1, $mails, implode("\n----\n", $this->mails()));
        $email = $this->rows('SELECT user_email FROM wp_users WHERE ID = ?', 'i', $user)[0]['user_email'];
        $headers = iconv_mime_decode_headers(substr($mails[0], 0, (int) strpos($mails[0], "\r\n\r\n")), ICONV_MIME_DECODE_CONTINUE_ON_ERROR, 'UTF-8');
        $this->assertMatchesRegularExpression('/subscriber unsubscribed: ' . preg_quote($email, '/') . '$/', $headers['Subject']);
        $this->assertStringContainsString('Role Subscriber removed.', $mails[0]);
        $this->assertStringContainsString('Tags cleared.', $mails[0]);
        $this->assertStringNotContainsString(self::$key, $mails[0]);
        $last = unserialize((string) $this->meta($user, 'crmhook_last_sync'));
        $this->assertSame('unsubscribe', $last['via']);
        $logged = $this->rows('SELECT outcome, user_id FROM wp_crmhook_log WHERE action = ?', 's', $action);
        $this->assertSame([['outcome' => 'updated', 'user_id' => $user]], $logged, 'the webhook log');
    }

    /** @dataProvider crms */
    public function testWithoutOptionsTheUserIsKeptAndTheAdminEmailIsTold(string $crm, string $action): void
    {
        $this->configure($crm, ['ck_unsubscribe_email' => '', 'ck_unsubscribe_remove_role' => '', 'ck_unsubscribe_clear_tags' => false]);
        $user = $this->addContact($crm, '1001');
        $tags = $this->tags($user, $crm);
        $answer = $this->sendWebhook($crm, $action, '1001');
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame(['subscriber'], $this->roles($user));
        $this->assertSame($tags, $this->tags($user, $crm));
        $admin = $this->rows("SELECT option_value FROM wp_options WHERE option_name = 'admin_email'")[0]['option_value'];
        $this->assertCount(1, $this->mailsTo($admin), 'the site\'s admin email by default');
    }

    public function testAnUnlinkedUserIsFoundByTheCrmsEmailNeverByThePayloads(): void
    {
        $crm = 'kit';
        $this->configure($crm, ['ck_unsubscribe_remove_role' => 'subscriber']);
        $ann = $this->addContact($crm, '1001');
        $bob = $this->addContact($crm, '1002');
        self::$db->query('DELETE FROM wp_crmhook_contacts');
        $bobEmail = $this->rows('SELECT user_email FROM wp_users WHERE ID = ?', 'i', $bob)[0]['user_email'];
        // Subscriber 1001 (Ann in the CRM), with Bob's address in the payload.
        $body = json_encode(['subscriber' => ['id' => 1001, 'first_name' => 'Ann', 'email_address' => $bobEmail, 'state' => 'cancelled', 'fields' => []]]);
        $answer = $this->request('POST', http_build_query(['wpf_action' => 'kit_unsubscribed', 'access_key' => self::$key]), $body, 'application/json');
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertSame($ann, $answer['json']['user_id']);
        $this->assertSame([], $this->roles($ann));
        $this->assertSame(['subscriber'], $this->roles($bob), 'the payload\'s email picked nobody');
    }

    public function testAPrivilegedUserIsNeverChanged(): void
    {
        $crm = 'convertkit';
        $this->configure($crm, ['ck_unsubscribe_remove_role' => 'administrator', 'ck_unsubscribe_clear_tags' => true]);
        $admin = (string) $this->rows('SELECT user_email FROM wp_users WHERE ID = 1')[0]['user_email'];
        $this->emulatorCall('PUT', "/_emulator/contacts/$crm/1009", ['email' => $admin, 'first_name' => 'Site', 'last_name' => 'Admin', 'fields' => [], 'tags' => ['1']]);
        self::$db->query("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (1, 'convertkit_tags', 'a:1:{i:0;s:1:\"1\";}')");
        $answer = $this->sendWebhook($crm, 'ck_unsubscribed', '1009');
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertFalse($answer['json']['ok']);
        $this->assertStringContainsString('privileged', $answer['json']['message']);
        $this->assertSame(['administrator'], $this->roles(1));
        $this->assertSame(['1'], $this->tags(1, $crm));
        $this->assertNull($this->meta(1, 'crmhook_last_sync'));
        $this->assertNull($this->linkedUser($crm, '1009'));
    }

    public function testASubscriberWhoIsNoUserChangesNothingAndMailsNobody(): void
    {
        $this->configure('kit', ['ck_unsubscribe_email' => 'owner@example.com']);
        $answer = $this->sendWebhook('kit', 'kit_unsubscribed', '1002');
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertFalse($answer['json']['ok']);
        $this->assertSame(1, $this->userCount());
        $this->assertSame([], $this->mails());
        $this->assertSame(['not found'], array_column($this->rows("SELECT outcome FROM wp_crmhook_log WHERE action = 'kit_unsubscribed'"), 'outcome'));
    }

    public function testUnsubscribeActionsAre400ForOtherCrmsAndUnknownActionsStay400(): void
    {
        $this->configure('keap');
        foreach (['ck_unsubscribed', 'kit_unsubscribed'] as $action) {
            $answer = $this->get($action, ['contact_id' => '1001']);
            $this->assertSame(400, $answer['status'], $answer['body']);
            $this->assertStringContainsString('only for ConvertKit and Kit', $answer['json']['message']);
        }
        $this->configure('kit');
        foreach (['unsubscribe', 'ck_unsubscribe', 'unsubscribed'] as $action) {
            $answer = $this->request('POST', http_build_query(['wpf_action' => $action, 'access_key' => self::$key]), '{"subscriber":{"id":1001}}', 'application/json');
            $this->assertSame(400, $answer['status'], "$action: {$answer['body']}");
        }
        $this->assertSame(1, $this->userCount());
        $this->assertSame([], $this->mails());
    }

    /** @dataProvider crms */
    public function testSavingRegistersTheRuleAndDeactivationDeletesIt(string $crm, string $action): void
    {
        $this->configure($crm);
        $api = var_export(self::$emulator . "/$crm", true);
        $save = static fn (bool $on) => sprintf(
            '$s = CrmHook_Admin::sanitize(["_form" => "1", "crm" => %s, "api_url" => %s, "ck_unsubscribe_notify" => %s, "ck_unsubscribe_email" => "owner@example.com"]); CrmHook_Settings::update($s); return $s["ck_unsubscribe_rule"];',
            var_export($crm, true), $api, $on ? '"1"' : '""'
        );
        $rule = $this->wp($save(true));
        $this->assertMatchesRegularExpression('/^\d+$/', $rule);
        $rules = $this->rules($crm);
        $this->assertSame([$rule], array_map('strval', array_keys($rules)));
        $this->assertSame(['name' => 'subscriber.subscriber_unsubscribe'], $rules[$rule]['event'], 'no tag: the event alone');
        $this->assertSame(self::$site . "/?wpf_action=$action&access_key=" . self::$key, $rules[$rule]['target_url']);
        $this->assertSame('owner@example.com', $this->option('crmhook_settings')['ck_unsubscribe_email']);

        $this->wp('CrmHook_Plugin::deactivate();');
        $this->assertSame([], $this->rules($crm), 'deactivation deleted the rule');
        $this->assertSame('', $this->option('crmhook_settings')['ck_unsubscribe_rule']);
        $this->assertTrue($this->option('crmhook_settings')['ck_unsubscribe_notify'], 'the choice stays for reactivation');

        $this->wp('CrmHook_Plugin::on_activation();');
        $this->assertCount(1, $this->rules($crm), 'activation registered it again');

        $this->assertSame('', $this->wp($save(false)));
        $this->assertSame([], $this->rules($crm), 'unticking deletes it');
    }
}
