<?php
/**
 * CrmHook_Users: the users list's "CRM tags" column and its filter by tag, on a real WordPress.
 */

declare(strict_types=1);

require_once __DIR__ . '/UserScreensTestCase.php';

final class UsersTest extends UserScreensTestCase
{
    protected function setUp(): void
    {
        // Keap stores tag ids; its names come from the CRM, here from the cache the column reads.
        $this->useKeapWithTagNames(['1' => 'Customer', '11' => 'VIP <b>', '21' => 'Newsletter']);
    }

    protected function tearDown(): void
    {
        parent::tearDown();
        unset($_GET[CrmHook_Users::FILTER]);
        unset($GLOBALS['current_screen']);
    }

    /** @param list<string> $tags */
    private function user(string $name, ?array $tags): int
    {
        $id = wp_insert_user(['user_login' => $name . wp_rand(), 'user_email' => $name . wp_rand() . '@example.com', 'user_pass' => 'x']);
        $this->assertIsInt($id);
        if ($tags !== null) {
            update_user_meta($id, 'infusionsoft_tags', $tags);
        }
        $this->users[] = $id;
        return $id;
    }

    /**
     * The users a query restricted to one tag finds (restricted where the users screen does it,
     * in pre_get_users).
     *
     * @return list<int>
     */
    public function found(string $tag): array
    {
        $restrict = static fn (WP_User_Query $query) => CrmHook_Users::restrict($query, $tag);
        add_action('pre_get_users', $restrict);
        $ids = (new WP_User_Query(['fields' => 'ID']))->get_results();
        remove_action('pre_get_users', $restrict);
        return array_map('intval', $ids);
    }

    public function testTheColumnIsAddedAndShowsTagNamesEscaped(): void
    {
        $this->assertSame(['username' => 'Username', 'crmhook_tags' => 'CRM tags'], CrmHook_Users::columns(['username' => 'Username']));
        $id = $this->user('col', ['11', '1', '99']);
        $cell = CrmHook_Users::column('', 'crmhook_tags', $id);
        $this->assertStringContainsString('<span class="crmhook-tag" data-tag="11">VIP &lt;b&gt;</span>', $cell, 'name, escaped');
        $this->assertStringContainsString('<span class="crmhook-tag" data-tag="1">Customer</span>', $cell);
        $this->assertStringContainsString('<span class="crmhook-tag" data-tag="99">99</span>', $cell, 'an id the CRM does not name stays an id');
        $this->assertStringContainsString('crmhook-tags-none', CrmHook_Users::column('', 'crmhook_tags', $this->user('none', null)));
        $this->assertSame('other', CrmHook_Users::column('other', 'email', $id), 'other columns are left alone');
    }

    public function testActiveCampaignTagsAreNamesAlready(): void
    {
        CrmHook_Settings::update(['crm' => 'activecampaign']);
        $id = $this->user('ac', []);
        update_user_meta($id, 'activecampaign_tags', ['Customer', 'VIP']);
        $this->assertStringContainsString('data-tag="VIP">VIP</span>', CrmHook_Users::column('', 'crmhook_tags', $id));
    }

    public function testTheFilterFindsExactlyTheUsersWithTheTag(): void
    {
        $one = $this->user('one', ['1', '21']);
        $eleven = $this->user('eleven', ['11']);
        $both = $this->user('both', ['11', '1']);
        $none = $this->user('none', null);
        $empty = $this->user('empty', []);

        $found = [$this, 'found'];
        $this->assertEqualsCanonicalizing([$one, $both], array_intersect($found('1'), $this->users), 'tag 1, not 11 or 21');
        $this->assertEqualsCanonicalizing([$eleven, $both], array_intersect($found('11'), $this->users));
        $this->assertSame([$one], array_values(array_intersect($found('21'), $this->users)));
        $this->assertSame([], array_values(array_intersect($found('2'), $this->users)));
        $this->assertNotContains($none, $found('1'));
        $this->assertNotContains($empty, $found('1'));
    }

    public function testTagsWithWildcardsAndQuotesMatchOnlyThemselves(): void
    {
        CrmHook_Settings::update(['crm' => 'activecampaign']);
        $percent = $this->user('pct', []);
        update_user_meta($percent, 'activecampaign_tags', ['50% off', 'a_b']);
        $other = $this->user('oth', []);
        update_user_meta($other, 'activecampaign_tags', ['50x off', 'axb', 'O\'Brien "VIP"']);
        $found = [$this, 'found'];
        $this->assertSame([$percent], array_values(array_intersect($found('50% off'), $this->users)), '% is not a wildcard');
        $this->assertSame([$percent], array_values(array_intersect($found('a_b'), $this->users)), '_ is not a wildcard');
        $this->assertSame([$other], array_values(array_intersect($found('O\'Brien "VIP"'), $this->users)));
        $this->assertSame([], array_values(array_intersect($found('VIP'), $this->users)), 'part of a tag is not the tag');
    }

    public function testTheUsersScreenQueryIsRestrictedByTheChosenTag(): void
    {
        $one = $this->user('scr', ['1']);
        $eleven = $this->user('scr', ['11']);
        set_current_screen('users');
        $_GET[CrmHook_Users::FILTER] = '11';
        add_action('pre_get_users', [CrmHook_Users::class, 'filter_query']);
        $ids = array_map('intval', (new WP_User_Query(['fields' => 'ID']))->get_results());
        remove_action('pre_get_users', [CrmHook_Users::class, 'filter_query']);
        $this->assertContains($eleven, $ids);
        $this->assertNotContains($one, $ids);
    }

    public function testTheDropdownListsTheTagsByNameAndKeepsTheChoice(): void
    {
        $_GET[CrmHook_Users::FILTER] = '11';
        ob_start();
        CrmHook_Users::filter_form('top');
        $html = (string) ob_get_clean();
        $this->assertStringContainsString('<select name="crmhook_tag" id="crmhook-tag-filter">', $html);
        $this->assertStringContainsString('<option value="1">Customer</option>', $html);
        $this->assertStringContainsString('<option value="11" selected=\'selected\'>VIP &lt;b&gt;</option>', $html);
        $this->assertStringContainsString('id="crmhook-tag-filter-submit"', $html);
        ob_start();
        CrmHook_Users::filter_form('bottom');
        $this->assertSame('', ob_get_clean(), 'one dropdown, above the list');
    }

    public function testACrmThatCannotAnswerIsAskedOncePerFewMinutes(): void
    {
        CrmHook_Users::forget_tag_names();
        $this->assertSame([], CrmHook_Users::tag_names(), 'nothing listens on port 1');
        $this->assertSame([], get_transient('crmhook_tag_names_' . md5('keap|http://127.0.0.1:1/keap')), 'the failure is cached');
    }
}
