-- A counter bumped by every change to a client or its certificates, so that each node's
-- client cache (src/client_cache.rs) can tell when to drop what it holds.
CREATE TABLE client_generation (n BIGINT NOT NULL);
INSERT INTO client_generation (n) VALUES (0);
CREATE FUNCTION certbound_client_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE client_generation SET n = n + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION certbound_client_changed();
CREATE TRIGGER client_certificates_changed AFTER INSERT OR UPDATE OR DELETE ON client_certificates
    FOR EACH STATEMENT EXECUTE FUNCTION certbound_client_changed();
