"""The console proxy's reading of a request's token, and its logs."""


from nova import test
from nova.console import websocketproxy

TOKEN = '6f6b4ae3-8b1c-4b4e-9d3f-2f1e0c0a0b0c'


class TestTokenFromRequest(test.TestCase):

    def test_token_query_parameter(self):
        self.assertEqual(TOKEN, websocketproxy.token_from_request(
            f'/websockify?token={TOKEN}', None))

    def test_token_inside_the_path_parameter(self):
        # The console URL's own query, as noVNC 1.1+ is given it.
        self.assertEqual(TOKEN, websocketproxy.token_from_request(
            f'/vnc_lite.html?path=%3Ftoken%3D{TOKEN}', None))

    def test_token_cookie(self):
        self.assertEqual(TOKEN, websocketproxy.token_from_request(
            '/websockify', f'theme=dark; token={TOKEN}'))
        # The query wins over a cookie.
        self.assertEqual('q', websocketproxy.token_from_request(
            '/?token=q', f'token={TOKEN}'))

    def test_no_token(self):
        for path, cookie in (('/', None), ('/?token=', None),
                             ('/?path=%3Fother%3D1', 'theme=dark'),
                             ('/', 'token="unterminated')):
            self.assertIsNone(websocketproxy.token_from_request(path,
                                                                cookie))


class TestMaskTokens(test.TestCase):

    def test_tokens_are_masked_in_every_form(self):
        for text in (f'"GET /?token={TOKEN} HTTP/1.1" 403',
                     f"Path: '/vnc_lite.html?path=%3Ftoken%3D{TOKEN}&x=1'",
                     f'token%3d{TOKEN}'):
            masked = websocketproxy.mask_tokens(text)
            self.assertNotIn(TOKEN, masked)
            self.assertIn('***', masked)
        self.assertEqual('GET /?x=1&token=*** HTTP/1.1',
                         websocketproxy.mask_tokens(
                             f'GET /?x=1&token={TOKEN} HTTP/1.1'))
