-- 0013_oidc: a user's link to an OpenID Connect identity (weft.User.
-- OIDCSubject; AuthStore.FindUserByOIDC and LinkOIDC; http/oidc.go).
--
-- oidc_subject is "<issuer>#<sub>": the provider's issuer URL (which has no
-- fragment, OpenID Connect Discovery §3) and the subject it gives the
-- person, which is unique and never reassigned within that issuer. NULL
-- for a user not linked. One identity signs in as one user at most: the
-- unique index is also the lookup of a sign-in.
ALTER TABLE users ADD COLUMN oidc_subject TEXT;

CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject) WHERE oidc_subject IS NOT NULL;
