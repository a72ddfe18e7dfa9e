<?php
/**
 * CrmHook_Profile: the "CRM" section of the profile and edit-user screens, and the last-sync record.
 */

declare(strict_types=1);

require_once __DIR__ . '/UserScreensTestCase.php';

final class ProfileTest extends UserScreensTestCase
{
    protected function setUp(): void
    {
        $this->useKeapWithTagNames(['7' => 'Member']);
        wp_set_current_user(1);
    }

    protected function tearDown(): void
    {
        parent::tearDown();
        wp_set_current_user(0);
    }

    private function user(string $role): WP_User
    {
        $id = wp_insert_user(['user_login' => 'p' . wp_rand(), 'user_email' => wp_rand() . '@example.com', 'user_pass' => 'x', 'role' => $role]);
        $this->assertIsInt($id);
        $this->users[] = $id;
        return get_userdata($id);
    }

    private function render(WP_User $user): string
    {
        ob_start();
        CrmHook_Profile::render($user);
        return (string) ob_get_clean();
    }

    public function testTheSectionShowsTheContactTagsLastSyncAndTheButton(): void
    {
        $user = $this->user('subscriber');
        CrmHook_Contacts::link('keap', '1001', $user->ID);
        update_user_meta($user->ID, 'infusionsoft_tags', ['7', '8']);
        $html = $this->render($user);
        $this->assertStringContainsString('<h2 id="crmhook-profile">CRM (Infusionsoft / Keap)</h2>', $html);
        $this->assertStringContainsString('<code class="crmhook-contact-id">1001</code>', $html, 'Keap: no certain address, plain id');
        $this->assertStringContainsString('data-tag="7">Member</span>', $html);
        $this->assertStringContainsString('data-tag="8">8</span>', $html);
        $this->assertStringContainsString('<span class="crmhook-never">Never</span>', $html);
        $this->assertSame(1, preg_match('#<a class="button" id="crmhook-resync" href="([^"]+)">#', $html, $m), $html);
        $url = html_entity_decode($m[1]);
        $this->assertStringContainsString('admin-post.php?action=crmhook_resync&user_id=' . $user->ID, $url);
        parse_str((string) parse_url($url, PHP_URL_QUERY), $query);
        $this->assertSame(1, wp_verify_nonce($query['_wpnonce'], 'crmhook_resync_' . $user->ID), 'a nonce for this user');
    }

    public function testAnUnlinkedUserSaysSo(): void
    {
        $html = $this->render($this->user('subscriber'));
        $this->assertStringContainsString('crmhook-not-linked', $html);
        $this->assertStringContainsString('id="crmhook-resync"', $html, 'a resync looks the user up by email');
    }

    public function testPrivilegedUsersGetNoButton(): void
    {
        foreach (['administrator', 'editor'] as $role) {
            $html = $this->render($this->user($role));
            $this->assertStringNotContainsString('crmhook-resync', $html, $role);
            $this->assertStringContainsString('crmhook-privileged', $html, $role);
        }
    }

    public function testNothingForSomeoneWhoMayNotEditTheUser(): void
    {
        $viewer = $this->user('subscriber');
        wp_set_current_user($viewer->ID);
        $this->assertSame('', $this->render($this->user('subscriber')));
    }

    public function testASubscriberSeesNoSectionOnTheirOwnProfile(): void
    {
        $self = $this->user('subscriber');
        wp_set_current_user($self->ID);
        $this->assertTrue(current_user_can('edit_user', $self->ID), 'everyone may edit their own profile');
        $this->assertSame('', $this->render($self));
        $this->assertFalse(CrmHook_Profile::may_manage($self->ID));
    }

    public function testTheLastSyncIsRecordedForTheUserAndShown(): void
    {
        $user = $this->user('subscriber');
        CrmHook_Profile::record_sync(['user_id' => $user->ID, 'ok' => true, 'action' => 'update', 'contact_id' => '5', 'message' => 'Updated user <x> from contact 5.'], ['action' => 'update', 'async' => true]);
        $last = get_user_meta($user->ID, CrmHook_Profile::LAST_SYNC_META, true);
        $this->assertSame('queue', $last['via']);
        $this->assertTrue($last['ok']);
        $this->assertSame('Updated user <x> from contact 5.', $last['message']);
        $html = $this->render($user);
        $this->assertStringContainsString('crmhook-last-sync-ok', $html);
        $this->assertStringContainsString('(queued webhook): Updated user &lt;x&gt; from contact 5.', $html);

        CrmHook_Profile::record_sync(['user_id' => null, 'ok' => false, 'action' => 'update', 'message' => 'no user'], ['action' => 'update']);
        CrmHook_Profile::record_sync(['user_id' => $user->ID, 'ok' => true, 'action' => 'update', 'message' => 'again'], ['action' => 'update', 'resync' => true]);
        $this->assertSame('resync', get_user_meta($user->ID, CrmHook_Profile::LAST_SYNC_META, true)['via']);
    }

    public function testContactLinksOnlyWhereTheAddressIsCertain(): void
    {
        $this->assertSame('https://acme.activehosted.com/app/contacts/42', CrmHook_Profile::contact_url('activecampaign', 'https://acme.api-us1.com', '42'));
        $this->assertNull(CrmHook_Profile::contact_url('activecampaign', 'http://127.0.0.1:8790/activecampaign', '42'));
        $this->assertSame('https://app.kit.com/subscribers/42', CrmHook_Profile::contact_url('kit', '', '42'));
        $this->assertSame('https://app.kit.com/subscribers/42', CrmHook_Profile::contact_url('convertkit', 'https://api.convertkit.com', '42'));
        $this->assertNull(CrmHook_Profile::contact_url('kit', 'http://127.0.0.1:8790/kit', '42'));
        $this->assertSame('https://crm.example.com/sub/wp-admin/admin.php?page=fluentcrm-admin#/subscribers/42', CrmHook_Profile::contact_url('fluentcrm', 'https://crm.example.com/sub/', '42'));
        $this->assertNull(CrmHook_Profile::contact_url('keap', '', '42'));
        $this->assertNull(CrmHook_Profile::contact_url('funnelkit', 'https://shop.example.com', '42'));
        $this->assertNull(CrmHook_Profile::contact_url('kit', '', '42/../x'), 'only digits reach a URL');
    }

    public function testAKitContactIsLinkedOnTheProfile(): void
    {
        CrmHook_Settings::update(['crm' => 'kit', 'api_url' => '']);
        set_transient('crmhook_tag_names_' . md5('kit|'), [], 60);
        $user = $this->user('subscriber');
        CrmHook_Contacts::link('kit', '1001', $user->ID);
        $this->assertStringContainsString('<a class="crmhook-contact-link" href="https://app.kit.com/subscribers/1001" target="_blank" rel="noopener noreferrer">1001</a>', $this->render($user));
    }
}
