<?php
/**
 * The users list's CRM tags column and tag filter, and the profile's CRM section with *Resync from
 * CRM*, through wp-admin as a logged-in administrator.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class UsersScreenTest extends E2ETestCase
{
    private const CRM = 'keap';

    private function addContact(string $id): int
    {
        $answer = $this->sendWebhook(self::CRM, 'add', $id, ['async' => 'false']);
        $this->assertSame(200, $answer['status'], $answer['body']);
        $user = $this->linkedUser(self::CRM, $id);
        $this->assertNotNull($user);
        return $user;
    }

    /** @param array<string, mixed> $changes */
    private function changeContact(string $id, array $changes): void
    {
        $contact = $this->emulatorCall('GET', '/_emulator/contacts/' . self::CRM . "/$id");
        $this->emulatorCall('PUT', '/_emulator/contacts/' . self::CRM . "/$id", $changes + $contact);
    }

    private function resyncUrl(string $page): string
    {
        $this->assertSame(1, preg_match('#<a class="button" id="crmhook-resync" href="([^"]+)">#', $page, $m), 'a resync button');
        return html_entity_decode($m[1]);
    }

    public function testTheUsersListShowsTagNamesAndFiltersByTag(): void
    {
        $this->configure(self::CRM);
        $ann = $this->addContact('1001');
        $bare = $this->addContact('1002');
        $this->changeContact('1003', ['tags' => ['10']]);
        $ten = $this->addContact('1003');
        $jar = $this->adminLogin();

        $list = $this->adminGet($jar, '/wp-admin/users.php');
        $this->assertSame(200, $list['status']);
        $this->assertMatchesRegularExpression('#<th scope="col" id=\'crmhook_tags\' class=\'manage-column column-crmhook_tags\'>CRM tags</th>#', $list['body'], 'the column header');
        $this->assertMatchesRegularExpression('#<span class="crmhook-tag" data-tag="1">Customer</span>, <span class="crmhook-tag" data-tag="2">VIP</span>#', $list['body'], 'Keap tag ids shown by name');
        $this->assertStringContainsString('<select name="crmhook_tag" id="crmhook-tag-filter">', $list['body']);
        foreach ([$ann, $bare, $ten, 1] as $id) {
            $this->assertStringContainsString("<tr id='user-{$id}'", $list['body'], 'unfiltered, every user');
        }

        $filtered = $this->adminGet($jar, '/wp-admin/users.php?crmhook_tag=1');
        $this->assertSame(200, $filtered['status']);
        $this->assertStringContainsString("<tr id='user-{$ann}'", $filtered['body']);
        $this->assertStringNotContainsString("<tr id='user-{$bare}'", $filtered['body'], 'no tags');
        $this->assertStringNotContainsString("<tr id='user-{$ten}'", $filtered['body'], 'tag 10 is not tag 1');
        $this->assertStringNotContainsString("<tr id='user-1'", $filtered['body'], 'the admin has no tags');
        $this->assertStringContainsString('<option value="1" selected=\'selected\'>Customer</option>', $filtered['body']);

        $this->assertStringContainsString("<tr id='user-{$ten}'", $this->adminGet($jar, '/wp-admin/users.php?crmhook_tag=10')['body']);
    }

    public function testResyncAppliesWhatChangedInTheCrm(): void
    {
        $this->configure(self::CRM);
        $user = $this->addContact('1001');
        $this->assertSame(['1', '2'], $this->tags($user, self::CRM));
        $this->changeContact('1001', ['first_name' => 'Annabel', 'tags' => ['2', '5']]);

        $jar = $this->adminLogin();
        $page = $this->adminGet($jar, "/wp-admin/user-edit.php?user_id=$user");
        $this->assertSame(200, $page['status']);
        $this->assertStringContainsString('<h2 id="crmhook-profile">', $page['body']);
        $this->assertStringContainsString('<code class="crmhook-contact-id">1001</code>', $page['body']);
        $this->assertMatchesRegularExpression('#id="crmhook-profile-last-sync">\s*<span class="crmhook-last-sync-ok">\s*\S+ \S+ \(webhook\): Created user#', $page['body']);

        $back = $this->adminGet($jar, $this->resyncUrl($page['body']));
        $this->assertSame(302, $back['status'], $back['body']);
        $this->assertStringContainsString("user-edit.php?user_id=$user#crmhook-profile", $back['location']);
        $this->assertSame(['2', '5'], $this->tags($user, self::CRM), 'the CRM\'s tags now');
        $this->assertSame('Annabel', $this->meta($user, 'first_name'));
        $last = unserialize((string) $this->meta($user, 'crmhook_last_sync'));
        $this->assertSame('resync', $last['via']);
        $this->assertTrue($last['ok']);

        $after = $this->adminGet($jar, "/wp-admin/user-edit.php?user_id=$user");
        $this->assertMatchesRegularExpression('#<div id="crmhook-resync-notice" class="notice notice-success is-dismissible"><p><strong>Resync from CRM:</strong> Updated user#', $after['body']);
        $this->assertStringContainsString('data-tag="5">Website Access</span>', $after['body']);
        $this->assertStringNotContainsString('crmhook-resync-notice', $this->adminGet($jar, "/wp-admin/user-edit.php?user_id=$user")['body'], 'shown once');
    }

    public function testResyncFindsAnUnlinkedUserByEmailAndSaysWhenThereIsNone(): void
    {
        $this->configure(self::CRM);
        $user = $this->addContact('1001');
        self::$db->query('DELETE FROM wp_crmhook_contacts');
        self::$db->query("DELETE FROM wp_usermeta WHERE meta_key = 'infusionsoft_contact_id'");
        $this->changeContact('1001', ['tags' => ['3']]);
        $jar = $this->adminLogin();
        $page = $this->adminGet($jar, "/wp-admin/user-edit.php?user_id=$user");
        $this->assertStringContainsString('crmhook-not-linked', $page['body']);
        $this->assertSame(302, $this->adminGet($jar, $this->resyncUrl($page['body']))['status']);
        $this->assertSame($user, $this->linkedUser(self::CRM, '1001'), 'found by email, linked');
        $this->assertSame(['3'], $this->tags($user, self::CRM));

        // A user whose email the CRM does not know: nothing written, and the notice says why.
        $stranger = (int) $this->wp('return wp_insert_user(["user_login" => "stranger", "user_email" => "stranger@example.com", "user_pass" => "x"]);');
        $page = $this->adminGet($jar, "/wp-admin/user-edit.php?user_id=$stranger");
        $this->adminGet($jar, $this->resyncUrl($page['body']));
        $after = $this->adminGet($jar, "/wp-admin/user-edit.php?user_id=$stranger")['body'];
        $this->assertStringContainsString('<div id="crmhook-resync-notice" class="notice notice-error is-dismissible"><p><strong>Resync from CRM:</strong> Not linked: the CRM has no contact with the email stranger@example.com.', $after);
        $this->assertNull($this->meta($stranger, 'crmhook_last_sync'));
    }

    public function testPrivilegedUsersHaveNoButtonAndAForcedResyncIsRefused(): void
    {
        $this->configure(self::CRM);
        $user = $this->addContact('1001');
        $jar = $this->adminLogin();
        $url = $this->resyncUrl($this->adminGet($jar, "/wp-admin/user-edit.php?user_id=$user")['body']);

        // The admin's own profile: privileged, no button.
        $own = $this->adminGet($jar, '/wp-admin/profile.php');
        $this->assertStringContainsString('crmhook-privileged', $own['body']);
        $this->assertStringNotContainsString('id="crmhook-resync"', $own['body']);

        // The user becomes an editor; the URL (a valid nonce) is used anyway.
        $this->wp("(new WP_User($user))->set_role('editor');");
        $this->changeContact('1001', ['first_name' => 'Mallory', 'tags' => ['9']]);
        $refused = $this->adminGet($jar, $url);
        $this->assertSame(403, $refused['status'], $refused['body']);
        $this->assertSame(['1', '2'], $this->tags($user, self::CRM), 'nothing written');
        $this->assertSame('Ann', $this->meta($user, 'first_name'));
        $this->assertStringNotContainsString('id="crmhook-resync"', $this->adminGet($jar, "/wp-admin/user-edit.php?user_id=$user")['body']);
    }

    public function testAWrongNonceIsRefused(): void
    {
        $this->configure(self::CRM);
        $user = $this->addContact('1001');
        $this->changeContact('1001', ['tags' => ['9']]);
        $jar = $this->adminLogin();
        $refused = $this->adminGet($jar, "/wp-admin/admin-post.php?action=crmhook_resync&user_id=$user&_wpnonce=0123456789");
        $this->assertSame(403, $refused['status']);
        // Another user's nonce does not fit this user either.
        $other = $this->addContact('1002');
        $url = $this->resyncUrl($this->adminGet($jar, "/wp-admin/user-edit.php?user_id=$other")['body']);
        $this->assertSame(403, $this->adminGet($jar, str_replace("user_id=$other", "user_id=$user", $url))['status']);
        $this->assertSame(['1', '2'], $this->tags($user, self::CRM));
    }
}
