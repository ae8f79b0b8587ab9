"""Defaults of the Image API v2, under Glance's rule names.

Glance's rules are unprefixed (``get_image``, ``add_image`` ...); the
in-tree image service keeps those names so a Glance policy file's rules
mean the same here.  The target is the image: ``project_id`` is its owner,
``visibility`` its visibility.  As the compute API: a reader reads in its
project (and public or community images anywhere), a member acts in its
project, an admin everywhere; only an admin publishes.
"""

from oslo_policy import policy

from nova.policies import base

# A reader of the image's project, or anyone for public and community
# images; admins always.
_READ = (f'{base.ADMIN} or (role:reader and (project_id:%(project_id)s '
         "or 'public':%(visibility)s or 'community':%(visibility)s))")


def _op(name: str, check: str, method: str, path: str,
        description: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name, check, description, [{'method': method, 'path': path}])


rules: list[policy.RuleDefault] = [
    _op('get_images', base.PROJECT_READER_OR_ADMIN, 'GET', '/v2/images',
        'List the images the caller may see'),
    _op('get_image', _READ, 'GET', '/v2/images/{image_id}',
        'Show an image'),
    _op('add_image', base.PROJECT_MEMBER_OR_ADMIN, 'POST', '/v2/images',
        'Create an image (its owner is the caller\'s project)'),
    _op('modify_image', base.PROJECT_MEMBER_OR_ADMIN, 'PATCH',
        '/v2/images/{image_id}', 'Change an image\'s attributes'),
    _op('publicize_image', base.ADMIN, 'PATCH', '/v2/images/{image_id}',
        'Make an image public (visibility "public")'),
    _op('delete_image', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/v2/images/{image_id}', 'Delete an image'),
    _op('upload_image', base.PROJECT_MEMBER_OR_ADMIN, 'PUT',
        '/v2/images/{image_id}/file', 'Upload an image\'s data'),
    _op('download_image', _READ, 'GET', '/v2/images/{image_id}/file',
        'Download an image\'s data'),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
