-- A counter bumped by every change to a client or its certificates, so that each process's
-- client cache (src/client_cache.rs) can tell when to drop what it holds.
CREATE TABLE client_generation (n INTEGER NOT NULL);
INSERT INTO client_generation (n) VALUES (0);
CREATE TRIGGER clients_changed_insert AFTER INSERT ON clients
BEGIN UPDATE client_generation SET n = n + 1; END;
CREATE TRIGGER clients_changed_update AFTER UPDATE ON clients
BEGIN UPDATE client_generation SET n = n + 1; END;
CREATE TRIGGER clients_changed_delete AFTER DELETE ON clients
BEGIN UPDATE client_generation SET n = n + 1; END;
CREATE TRIGGER client_certificates_changed_insert AFTER INSERT ON client_certificates
BEGIN UPDATE client_generation SET n = n + 1; END;
CREATE TRIGGER client_certificates_changed_update AFTER UPDATE ON client_certificates
BEGIN UPDATE client_generation SET n = n + 1; END;
CREATE TRIGGER client_certificates_changed_delete AFTER DELETE ON client_certificates
BEGIN UPDATE client_generation SET n = n + 1; END;
