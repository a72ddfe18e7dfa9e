<?php
/**
 * Every CRM × action from the seeds, end to end: the emulator sends the CRM's real wire format
 * to the real site, and the tests read what the site wrote in the database.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class WebhookFlowTest extends E2ETestCase
{
    private const CONTACT = '1001';

    /** @return array<string, array{string}> */
    public static function crms(): array
    {
        $crms = ['activecampaign', 'convertkit', 'kit', 'fluentcrm', 'funnelkit', 'keap'];
        return array_combine($crms, array_map(static fn ($c) => [$c], $crms));
    }

    /** The contact as the CRM has it, loaded with the extension itself. */
    private function crmContact(string $crm, string $id = self::CONTACT): array
    {
        return crmhook_fetch_contact(['crm' => $crm, 'api_url' => self::$emulator . "/$crm"] + self::$credentials[$crm], $id);
    }

    /** @dataProvider crms */
    public function testTestActionAnswersSuccess(string $crm): void
    {
        $this->configure($crm);
        $answer = $this->sendWebhook($crm, 'test', self::CONTACT);
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertTrue($answer['json']['success']);
        $this->assertSame(1, $this->userCount(), 'test writes nothing');
    }

    /** @dataProvider crms */
    public function testAddCreatesOneUserLinkedToTheContact(string $crm): void
    {
        $this->configure($crm);
        $contact = $this->crmContact($crm);

        $answer = $this->sendWebhook($crm, 'add', self::CONTACT);
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame('add', $answer['json']['action']);

        $user = $this->userByEmail($contact['email']);
        $this->assertNotNull($user, "a user with {$contact['email']}");
        $id = (int) $user['ID'];
        $this->assertSame($id, $answer['json']['user_id']);
        $this->assertSame($id, $this->linkedUser($crm, self::CONTACT));
        $this->assertSame(self::CONTACT, $this->meta($id, self::META[$crm] . '_contact_id'));
        $this->assertSame($contact['tags'], $this->tags($id, $crm));
        $this->assertSame(['subscriber'], $this->roles($id));
        $this->assertSame($contact['first_name'], $this->meta($id, 'first_name'));
        // The login is the email, made safe: WordPress's sanitize_user(…, true) keeps it unchanged.
        $this->assertMatchesRegularExpression('/^[a-z0-9_.\-@]{1,60}$/', $user['user_login']);
        $this->assertSame(2, $this->userCount());

        // No duplicate, however often the automation runs.
        $again = $this->sendWebhook($crm, 'add', self::CONTACT);
        $this->assertTrue($again['json']['ok'], $again['body']);
        $this->assertSame($id, $again['json']['user_id']);
        $this->assertSame(2, $this->userCount());
    }

    /** @dataProvider crms */
    public function testUpdateReloadsFieldsAndTags(string $crm): void
    {
        $this->configure($crm);
        $contact = $this->crmContact($crm);
        $this->sendWebhook($crm, 'add', self::CONTACT);
        $id = $this->linkedUser($crm, self::CONTACT);
        self::$db->query("UPDATE wp_usermeta SET meta_value = 'Stale' WHERE user_id = $id AND meta_key = 'first_name'");
        self::$db->query("DELETE FROM wp_usermeta WHERE user_id = $id AND meta_key = '" . self::META[$crm] . "_tags'");

        $answer = $this->sendWebhook($crm, 'update', self::CONTACT);
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame($contact['first_name'], $this->meta($id, 'first_name'));
        $this->assertSame($contact['tags'], $this->tags($id, $crm));
        $this->assertSame(2, $this->userCount());
    }

    /** @dataProvider crms */
    public function testUpdateTagsReloadsTags(string $crm): void
    {
        $this->configure($crm);
        $contact = $this->crmContact($crm);
        $this->sendWebhook($crm, 'add', self::CONTACT);
        $id = $this->linkedUser($crm, self::CONTACT);
        self::$db->query("DELETE FROM wp_usermeta WHERE user_id = $id AND meta_key = '" . self::META[$crm] . "_tags'");
        self::$db->query("UPDATE wp_usermeta SET meta_value = 'Stale' WHERE user_id = $id AND meta_key = 'first_name'");

        $answer = $this->sendWebhook($crm, 'update_tags', self::CONTACT);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame($contact['tags'], $this->tags($id, $crm));
        $this->assertSame('Stale', $this->meta($id, 'first_name'), 'update_tags leaves fields alone');
    }

    /** @dataProvider crms */
    public function testUpdateWithoutAUserWritesNothing(string $crm): void
    {
        $this->configure($crm);
        $answer = $this->sendWebhook($crm, 'update', self::CONTACT);
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertFalse($answer['json']['ok']);
        $this->assertStringContainsString('No WordPress user', $answer['json']['message']);
        $this->assertSame(1, $this->userCount());
        $this->assertNull($this->linkedUser($crm, self::CONTACT));
    }

    public function testUpdateFindsAnUnlinkedUserByEmailAndLinksIt(): void
    {
        $this->configure('keap');
        $contact = $this->crmContact('keap');
        $this->wp(sprintf('return wp_insert_user(["user_login" => "existing", "user_email" => %s, "user_pass" => "x"]);', var_export($contact['email'], true)));
        $id = (int) $this->userByEmail($contact['email'])['ID'];

        $answer = $this->sendWebhook('keap', 'update', self::CONTACT);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame($id, $this->linkedUser('keap', self::CONTACT));
        $this->assertSame(2, $this->userCount());
    }

    public function testAddFindsADuplicateEmailInsteadOfCreatingAUser(): void
    {
        $this->configure('activecampaign');
        $contact = $this->crmContact('activecampaign');
        $this->wp(sprintf('return wp_insert_user(["user_login" => "ann-already", "user_email" => %s, "user_pass" => "x"]);', var_export($contact['email'], true)));
        $answer = $this->sendWebhook('activecampaign', 'add', self::CONTACT);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame(2, $this->userCount());
        $this->assertSame('ann-already', $this->userByEmail($contact['email'])['user_login']);
        $this->assertSame((int) $this->userByEmail($contact['email'])['ID'], $this->linkedUser('activecampaign', self::CONTACT));
    }

    public function testFunnelKitGetAndPostBothWork(): void
    {
        $this->configure('funnelkit');
        $get = $this->sendWebhook('funnelkit', 'add', self::CONTACT, ['method' => 'GET']);
        $this->assertTrue($get['json']['ok'], $get['body']);
        $post = $this->sendWebhook('funnelkit', 'update', self::CONTACT, ['method' => 'POST']);
        $this->assertTrue($post['json']['ok'], $post['body']);
        $this->assertSame(2, $this->userCount());
    }

    public function testGenericJsonPostWithContactIdInTheBody(): void
    {
        $this->configure('funnelkit');
        $answer = $this->request('POST', '', json_encode(['wpf_action' => 'add', 'access_key' => self::$key, 'contact_id' => self::CONTACT]), 'application/json');
        $this->assertSame(200, $answer['status'], $answer['body']);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
    }

    public function testSendNotificationMailsTheNewUserOnly(): void
    {
        $this->configure('keap');
        $contact = $this->crmContact('keap');
        $answer = $this->sendWebhook('keap', 'add', self::CONTACT, ['send_notification' => 'true']);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $mails = $this->mails();
        $this->assertCount(1, $mails, 'one welcome email');
        $this->assertMatchesRegularExpression('/^To: .*' . preg_quote($contact['email'], '/') . '/mi', $mails[0]);
    }

    public function testNoMailWithoutSendNotification(): void
    {
        $this->configure('keap');
        $this->sendWebhook('keap', 'add', self::CONTACT, ['send_notification' => 'false']);
        $this->assertSame([], $this->mails());
    }

    public function testAnAllowedRegisteredRoleIsGranted(): void
    {
        $this->wp('add_role("customer", "Customer", ["read" => true]); return 1;');
        $this->configure('funnelkit', ['allowed_roles' => ['subscriber', 'customer']]);
        $answer = $this->get('add', ['contact_id' => self::CONTACT, 'role' => 'customer']);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame(['customer'], $this->roles((int) $answer['json']['user_id']));
    }

    public function testAdministratorIsNeverGrantedEvenWhenAllowed(): void
    {
        $this->configure('funnelkit', ['allowed_roles' => ['administrator', 'editor', 'subscriber']]);
        foreach (['administrator', 'editor'] as $role) {
            $answer = $this->get('add', ['contact_id' => self::CONTACT, 'role' => $role]);
            $this->assertTrue($answer['json']['ok'], $answer['body']);
            $this->assertSame(['subscriber'], $this->roles((int) $answer['json']['user_id']), $role);
        }
    }

    public function testActiveCampaignPayloadTagsNeedNoCrmCall(): void
    {
        $this->configure('activecampaign');
        $this->sendWebhook('activecampaign', 'add', self::CONTACT);
        $id = $this->linkedUser('activecampaign', self::CONTACT);
        $this->emulatorPost('/_emulator/reset');
        $answer = $this->request('POST', http_build_query(['wpf_action' => 'update_tags', 'access_key' => self::$key]),
            http_build_query(['contact' => ['id' => self::CONTACT, 'email' => 'x@example.com', 'tags' => 'Gold, Silver']]),
            'application/x-www-form-urlencoded');
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame(['Gold', 'Silver'], $this->tags($id, 'activecampaign'));
        $this->assertSame([], $this->crmCalls('activecampaign'), 'the payload had the tags: no API call');
    }

    public function testFluentCrmPayloadTagsAreStoredAsIds(): void
    {
        $this->configure('fluentcrm');
        $this->sendWebhook('fluentcrm', 'add', self::CONTACT);
        $id = $this->linkedUser('fluentcrm', self::CONTACT);
        $this->emulatorPost('/_emulator/reset');
        $body = json_encode(['id' => (int) self::CONTACT, 'email' => 'x@example.com', 'tags' => [['id' => 7, 'title' => 'VIP', 'slug' => 'vip'], ['id' => 9, 'title' => 'Lead']]]);
        $answer = $this->request('POST', http_build_query(['wpf_action' => 'update_tags', 'access_key' => self::$key]), $body, 'application/json');
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $this->assertSame(['7', '9'], $this->tags($id, 'fluentcrm'));
        $this->assertSame([], $this->crmCalls('fluentcrm'));
    }

    public function testBadRequestsGetTheirStatusAndWriteNothing(): void
    {
        $this->configure('activecampaign');
        $cases = [
            'wrong key'       => [403, $this->request('GET', 'wpf_action=add&access_key=wrong&contact_id=1001')],
            'no key'          => [403, $this->request('GET', 'wpf_action=add&contact_id=1001')],
            'no contact id'   => [422, $this->get('add')],
            'unknown action'  => [400, $this->get('delete', ['contact_id' => self::CONTACT])],
            'bad boolean'     => [400, $this->get('add', ['contact_id' => self::CONTACT, 'send_notification' => 'perhaps'])],
            'broken JSON'     => [400, $this->request('POST', http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]), '{"id": 1001', 'application/json')],
            'merge field'     => [400, $this->get('add', ['contact_id' => '~Contact.Id~'])],
            'body over limit' => [413, $this->request('POST', http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]), str_repeat('a', 1024 * 1024 + 1), 'application/x-www-form-urlencoded')],
        ];
        foreach ($cases as $name => [$status, $answer]) {
            $this->assertSame($status, $answer['status'], "$name: {$answer['body']}");
            $this->assertFalse($answer['json']['ok'], $name);
            $this->assertStringContainsString('no-store', $answer['headers']['cache-control'] ?? '', $name);
            $this->assertStringNotContainsString(self::$key, $answer['body'], "$name: the key is never echoed");
        }
        $this->assertSame(1, $this->userCount());
        $this->assertSame([], $this->crmCalls('activecampaign'));
    }

    public function testTooManyBadKeysFromOneAddressGet429(): void
    {
        $this->configure('keap');
        for ($i = 0; $i < 20; $i++) {
            $this->assertSame(403, $this->request('GET', 'wpf_action=test&access_key=guess' . $i)['status']);
        }
        $this->assertSame(429, $this->request('GET', 'wpf_action=test&access_key=guess')['status']);
        $this->assertSame(200, $this->get('test')['status'], 'the right key still works');
    }

    public function testCrmDownMeansNoHalfWrittenUser(): void
    {
        // Answered at once (the queue's retry is QueueTest's): the failure reaches the caller.
        $this->configure('activecampaign', ['queue_mode' => 'immediate']);
        $this->fault(['crm' => 'activecampaign', 'path' => '/api/3/contacts', 'status' => 503, 'mode' => 'status']);
        $answer = $this->sendWebhook('activecampaign', 'add', self::CONTACT);
        $this->assertSame(502, $answer['status'], $answer['body']);
        $this->assertFalse($answer['json']['ok']);
        $this->assertStringContainsString('ActiveCampaign', $answer['json']['message']);
        $this->assertSame(1, $this->userCount());
        $this->assertNull($this->linkedUser('activecampaign', self::CONTACT));
    }

    public function testAnHtmlFirewallPageIs502(): void
    {
        $this->configure('fluentcrm', ['queue_mode' => 'immediate']);
        $this->fault(['crm' => 'fluentcrm', 'path' => '/wp-json/fluent-crm/v2/subscribers', 'mode' => 'html']);
        $answer = $this->sendWebhook('fluentcrm', 'add', self::CONTACT);
        $this->assertSame(502, $answer['status'], $answer['body']);
        $this->assertStringContainsString('HTML', $answer['json']['message']);
        $this->assertSame(1, $this->userCount());
    }

    public function testGeneratedPasswordIsReturnedToTheCrmField(): void
    {
        $this->configure('activecampaign', ['return_password_field' => '15']);
        $answer = $this->sendWebhook('activecampaign', 'add', self::CONTACT);
        $this->assertTrue($answer['json']['ok'], $answer['body']);
        $writes = array_values(array_filter($this->crmCalls('activecampaign'), static fn ($c) => $c['method'] === 'PUT'));
        $this->assertCount(1, $writes);
        $body = json_decode((string) $writes[0]['body'], true);
        $this->assertSame('15', (string) $body['contact']['fieldValues'][0]['field']);
        $password = (string) $body['contact']['fieldValues'][0]['value'];
        $this->assertMatchesRegularExpression('/^[A-Za-z0-9]{24}$/', $password);
        $hash = $this->rows('SELECT user_pass FROM wp_users WHERE ID = ?', 'i', $answer['json']['user_id'])[0]['user_pass'];
        $this->assertSame('1', $this->wp(sprintf('return wp_check_password(%s, %s) ? "1" : "0";', var_export($password, true), var_export($hash, true))));
        $this->assertStringNotContainsString($password, $answer['body']);
        $log = self::$runDir . '/logs/php-error.log';
        $this->assertStringNotContainsString($password, is_file($log) ? (string) file_get_contents($log) : '', 'nor in the PHP log');
    }

    public function testConvertKitUpdateRemovesTheUpdateTag(): void
    {
        foreach (['convertkit', 'kit'] as $crm) {
            $this->resetSite();
            $this->emulatorPost('/_emulator/reset');
            $tags = $this->crmContact($crm)['tags'];
            $this->assertNotEmpty($tags, "$crm contact 1001 has tags in the fixture");
            $this->configure($crm, ['ck_update_tag' => $tags[0]]);
            $this->sendWebhook($crm, 'add', self::CONTACT);
            $answer = $this->sendWebhook($crm, 'update', self::CONTACT);
            $this->assertTrue($answer['json']['ok'], $answer['body']);
            $deletes = array_filter($this->crmCalls($crm), static fn ($c) => $c['method'] === 'DELETE' && str_contains((string) $c['path'], (string) $tags[0]));
            $this->assertCount(1, $deletes, "$crm: the update tag was removed from the subscriber");
            $this->assertNotContains($tags[0], $this->tags($this->linkedUser($crm, self::CONTACT), $crm));
        }
    }

    public function testSavingConvertKitTagsRegistersAndReplacesTheRules(): void
    {
        foreach (['convertkit' => '/v3/automations/hooks', 'kit' => '/v4/webhooks'] as $crm => $rules) {
            $this->emulatorPost('/_emulator/reset');
            $this->configure($crm);
            $config = ['crm' => $crm, 'api_url' => self::$emulator . "/$crm"] + self::$credentials[$crm];
            $tags = array_keys(crmhook_list_tags($config));
            $this->assertGreaterThanOrEqual(3, count($tags), "$crm has tags to pick");
            // What options.php does with the settings form: sanitize (which talks to the CRM), then save.
            $save = static fn (string $update, string $import) => sprintf(
                '$s = CrmHook_Admin::sanitize(["_form" => "1", "crm" => %s, "api_url" => %s, "ck_update_tag" => %s, "ck_import_tag" => %s]); CrmHook_Settings::update($s); return $s["ck_update_rule"] . "," . $s["ck_import_rule"];',
                var_export($crm, true), var_export($config['api_url'], true), var_export((string) $update, true), var_export((string) $import, true)
            );
            [$updateRule, $importRule] = explode(',', $this->wp($save((string) $tags[0], (string) $tags[1])));
            $this->assertNotSame('', $updateRule, "$crm update rule id");
            $this->assertNotSame('', $importRule, "$crm import rule id");
            $posts = array_values(array_filter($this->crmCalls($crm), static fn ($c) => $c['method'] === 'POST' && str_contains((string) $c['path'], $rules)));
            $this->assertCount(2, $posts, "$crm: two rules registered");
            $targets = array_map(static fn ($c) => json_decode((string) $c['body'], true)['target_url'], $posts);
            $this->assertContains(self::$site . '/?wpf_action=update&access_key=' . self::$key, $targets);
            $this->assertContains(self::$site . '/?wpf_action=add&access_key=' . self::$key, $targets);

            // A new update tag: the old rule is deleted first, then the new one registered.
            $before = count($this->crmCalls($crm));
            [$newUpdateRule] = explode(',', $this->wp($save((string) $tags[2], (string) $tags[1])));
            $calls = array_map(static fn ($c) => $c['method'] . ' ' . $c['path'], array_slice($this->crmCalls($crm), $before));
            $this->assertContains("DELETE $rules/$updateRule", array_map(static fn ($c) => preg_replace('/\?.*/', '', $c), $calls), "$crm: " . implode(' | ', $calls));
            $this->assertNotSame($updateRule, $newUpdateRule);
        }
    }

    public function testAsyncAnswers202AndStillCreatesTheUser(): void
    {
        $this->configure('keap');
        $answer = $this->get('add', ['contact_id' => self::CONTACT, 'async' => 'true']);
        $this->assertSame(202, $answer['status'], $answer['body']);
        $this->assertTrue($answer['json']['queued']);
        $contact = $this->crmContact('keap');
        $this->waitFor(fn (): bool => $this->userByEmail($contact['email']) !== null, 5);
        $this->assertNotNull($this->userByEmail($contact['email']));
    }
}
