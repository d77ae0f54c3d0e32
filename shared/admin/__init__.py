"""Admin access: Entra sign-in (OIDC code flow + PKCE via MSAL), ID-token validation, session cookies,
the authorisation rule every admin endpoint applies, the OpenAPI document and the admin page's assets.
Imports the ground floor and adapters only."""
