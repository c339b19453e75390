-- The demo passage table: a stand-in for the reference user's ANPR passage archive (design.md §1),
-- range-partitioned by passage_at, one partition per UTC day, filled inside the database.
--
--   SELECT pgrewrite_demo.demo_create_passage('public', 'passage', 30, 100000, current_date, 5);
--   SELECT pgrewrite_demo.demo_drop_passage('public', 'passage');
--
-- demo_create_passage runs the three steps below in one transaction. They are functions of their
-- own so that a client can run step 2 for different days on several connections at once:
--   1. prepare - the parent (no keys yet) and one empty partition per day;
--   2. fill    - per day: INSERT ... SELECT into the partition, then its keys, indexes and statistics;
--   3. finish  - keys and indexes on the parent, which adopt the partitions' own.
--
-- Idempotent: only CREATE ... IF NOT EXISTS / CREATE OR REPLACE, so it can be run before every use.
-- Names go through format('%I'), values through format('%L') or USING: the table name may need quoting.

-- A schema of its own: schema pgrewrite belongs to the tool's versioned migrations.
CREATE SCHEMA IF NOT EXISTS pgrewrite_demo;

CREATE OR REPLACE FUNCTION pgrewrite_demo.demo_drop_passage(p_schema text, p_table text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    -- Dropping the parent drops its partitions with it.
    EXECUTE format('DROP TABLE IF EXISTS %I.%I', p_schema, p_table);
END
$fn$;

CREATE OR REPLACE FUNCTION pgrewrite_demo.demo_prepare_passage(
    p_schema text, p_table text, p_days int, p_today date, p_future_days int DEFAULT 5)
RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    v_day date;
BEGIN
    IF p_days < 1 OR p_future_days < 0 THEN
        RAISE EXCEPTION 'demo table %.%: days (%) must be at least 1 and future days (%) not negative',
            p_schema, p_table, p_days, p_future_days;
    END IF;
    -- Partition names are <table>_YYYYMMDD; PostgreSQL would silently truncate them past 63 bytes.
    IF octet_length(p_table) > 54 THEN
        RAISE EXCEPTION 'demo table name "%" is longer than 54 bytes: its partition names <table>_YYYYMMDD would not fit in 63. Choose a shorter name.', p_table;
    END IF;

    IF to_regnamespace(quote_ident(p_schema)) IS NULL THEN
        EXECUTE format('CREATE SCHEMA %I', p_schema);
    END IF;

    -- No keys or indexes yet: building each partition's indexes once, after its rows are in, is
    -- faster than maintaining them row by row during the load. The CHECK is inherited as is.
    EXECUTE format($ddl$
        CREATE TABLE %I.%I (
            id                                          uuid NOT NULL,
            passage_at                                  timestamp NOT NULL,
            created_at                                  timestamp DEFAULT (now() AT TIME ZONE 'UTC'),
            passage_id                                  uuid,
            volgnummer                                  integer NOT NULL DEFAULT 1 CHECK (volgnummer >= 0),
            camera_id                                   varchar(64),
            camera_naam                                 varchar(255),
            camera_kijkrichting                         double precision,
            rijstrook                                   varchar(16),
            straat                                      varchar(255),
            plaats                                      varchar(255),
            locatie                                     point,
            kenteken                                    varchar(32),
            land_code                                   varchar(3),
            kenteken_betrouwbaarheid                    smallint,
            kenteken_karakters_betrouwbaarheid          jsonb,
            automatisch_verwerkbaar                     boolean,
            voertuig_soort                              varchar(64),
            merk                                        varchar(64),
            handelsbenaming                             varchar(128),
            inrichting                                  varchar(64),
            europese_voertuigcategorie                  varchar(8),
            europese_voertuigcategorie_toevoeging       varchar(8),
            brandstof                                   varchar(64),
            brandstoffen                                jsonb,
            emissieklasse                               varchar(16),
            zuinigheidslabel                            varchar(1),
            eerste_kleur                                varchar(32),
            tweede_kleur                                varchar(32),
            massa_ledig_voertuig                        smallint,
            massa_rijklaar                              integer,
            toegestane_maximum_massa_voertuig           integer,
            lengte                                      smallint,
            breedte                                     smallint,
            aantal_assen                                smallint,
            aantal_zitplaatsen                          smallint,
            cilinderinhoud                              integer,
            vermogen_massarijklaar                      double precision,
            catalogusprijs                              integer,
            datum_eerste_toelating                      date,
            datum_eerste_afgifte_nederland              date,
            datum_tenaamstelling                        date,
            vervaldatum_apk                             date,
            taxi_indicator                              boolean,
            wam_verzekerd                               boolean,
            export_indicator                            boolean,
            openstaande_terugroepactie_indicator        boolean,
            maximale_constructie_snelheid_bromsnorfiets boolean,
            extra_data                                  jsonb
        ) PARTITION BY RANGE (passage_at)
        $ddl$, p_schema, p_table);

    -- One partition per UTC day: p_days days up to p_today, then p_future_days empty days ahead.
    -- No DEFAULT partition, as on the reference table.
    FOR i IN 1 - p_days .. p_future_days LOOP
        v_day := p_today + i;
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                       p_schema, p_table || '_' || to_char(v_day, 'YYYYMMDD'), p_schema, p_table,
                       to_char(v_day, 'YYYY-MM-DD'), to_char(v_day + 1, 'YYYY-MM-DD'));
    END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION pgrewrite_demo.demo_fill_passage(
    p_schema text, p_table text, p_from date, p_to date, p_rows_per_day int, p_today date)
RETURNS bigint
LANGUAGE plpgsql
-- work_mem: the vehicle pool is hashed once per partition and must not spill to disk.
-- maintenance_work_mem: each partition's index builds in one pass.
SET work_mem = '64MB'
SET maintenance_work_mem = '256MB'
AS $fn$
DECLARE
    v_id text;
    -- Vehicles seen by the cameras. Passages pick them with a skew, so the same plates come back
    -- day after day like commuters do, and a plate always has the same make and fuel. Fewer for
    -- small tables, where building the pool would cost more than the rows.
    c_vehicles constant int := least(50000, greatest(5000, p_rows_per_day / 2));
    c_lanes    constant int := 300;
    c_readings constant int := 1000;
    v_day   date;
    v_part  text;
    v_rows  bigint;
    v_total bigint := 0;
BEGIN
    IF p_rows_per_day < 0 THEN
        RAISE EXCEPTION 'demo table %.%: rows per day (%) must not be negative', p_schema, p_table, p_rows_per_day;
    END IF;
    IF p_rows_per_day = 0 THEN
        RETURN 0;  -- empty partitions get their indexes in finish
    END IF;

    -- Lookup pools, joined per row by a random index: far cheaper than building strings and jsonb
    -- for every row. A fixed seed makes them the same on every connection that fills some of the
    -- days, so a plate has one make everywhere; the seed is made random again before the rows.
    -- ON COMMIT DROP: nothing stays behind in the session.
    IF to_regclass('pg_temp.pgrewrite_demo_lane') IS NOT NULL THEN  -- a second call in one transaction
        DROP TABLE pg_temp.pgrewrite_demo_lane, pg_temp.pgrewrite_demo_vehicle, pg_temp.pgrewrite_demo_reading;
    END IF;
    PERFORM setseed(0.42);

    -- Camera lanes: up to three lanes per camera site, sites spread over the Amsterdam area.
    CREATE TEMP TABLE pgrewrite_demo_lane ON COMMIT DROP AS
    SELECT i AS idx,
           format('AMS-%s-R%s', lpad((i / 3 + 1)::text, 3, '0'), i % 3 + 1) AS camera_id,
           format('%s %s, %s', s.straat, CASE WHEN i % 2 = 0 THEN 'inkomend' ELSE 'uitgaand' END,
                  'rijstrook ' || (i % 3 + 1)) AS camera_naam,
           ((i / 3) * 47 % 360)::double precision AS camera_kijkrichting,
           (i % 3 + 1)::text AS rijstrook,
           s.straat,
           s.plaats,
           point(4.80 + ((i / 3) * 37 % 100) / 400.0, 52.33 + ((i / 3) * 61 % 100) / 1000.0) AS locatie
    FROM generate_series(0, c_lanes - 1) AS i
    JOIN (VALUES (0, 'A10 Coentunnelweg', 'Amsterdam'), (1, 'Stadhouderskade', 'Amsterdam'),
                 (2, 'Wibautstraat', 'Amsterdam'), (3, 'Nassaukade', 'Amsterdam'),
                 (4, 'IJtunnel', 'Amsterdam'), (5, 'Piet Heintunnel', 'Amsterdam'),
                 (6, 'Haarlemmerweg', 'Amsterdam'), (7, 'Amstelveenseweg', 'Amsterdam'),
                 (8, 'Burgemeester de Vlugtlaan', 'Amsterdam'), (9, 'Gaasperdammerweg', 'Amsterdam'),
                 (10, 'Bijlmerdreef', 'Amsterdam'), (11, 'Kruislaan', 'Amsterdam'),
                 (12, 'Beneluxbaan', 'Amstelveen'), (13, 'Provincialeweg', 'Diemen'),
                 (14, 'Coentunnelweg', 'Zaandam'), (15, 'Schipholweg', 'Haarlemmermeer'))
         AS s(n, straat, plaats) ON s.n = (i / 3) % 16;

    -- Vehicles: ~95 % Dutch plates with their RDW registration; foreign plates have no registration.
    CREATE TEMP TABLE pgrewrite_demo_vehicle ON COMMIT DROP AS
    WITH model(m, voertuig_soort, merk, handelsbenaming, inrichting, categorie, elektrisch, massa) AS (VALUES
            (0, 'Personenauto', 'VOLKSWAGEN', 'GOLF', 'hatchback', 'M1', false, 1250),
            (1, 'Personenauto', 'VOLKSWAGEN', 'POLO', 'hatchback', 'M1', false, 1100),
            (2, 'Personenauto', 'KIA', 'PICANTO', 'hatchback', 'M1', false, 900),
            (3, 'Personenauto', 'TOYOTA', 'YARIS', 'hatchback', 'M1', false, 1050),
            (4, 'Personenauto', 'PEUGEOT', '208', 'hatchback', 'M1', false, 1090),
            (5, 'Personenauto', 'OPEL', 'CORSA', 'hatchback', 'M1', false, 1080),
            (6, 'Personenauto', 'TESLA', 'MODEL 3', 'sedan', 'M1', true, 1750),
            (7, 'Personenauto', 'RENAULT', 'CLIO', 'hatchback', 'M1', false, 1060),
            (8, 'Personenauto', 'SKODA', 'OCTAVIA', 'stationwagen', 'M1', false, 1350),
            (9, 'Personenauto', 'FORD', 'FIESTA', 'hatchback', 'M1', false, 1050),
            (10, 'Personenauto', 'VOLVO', 'V60', 'stationwagen', 'M1', false, 1700),
            (11, 'Personenauto', 'BMW', '3ER REIHE', 'sedan', 'M1', false, 1500),
            (12, 'Personenauto', 'MERCEDES-BENZ', 'C 200', 'sedan', 'M1', false, 1550),
            (13, 'Personenauto', 'KIA', 'NIRO', 'MPV', 'M1', true, 1700),
            (14, 'Personenauto', 'HYUNDAI', 'I10', 'hatchback', 'M1', false, 930),
            (15, 'Personenauto', 'FIAT', '500', 'hatchback', 'M1', false, 900),
            (16, 'Personenauto', 'NISSAN', 'QASHQAI', 'MPV', 'M1', false, 1400),
            (17, 'Personenauto', 'AUDI', 'A4 AVANT', 'stationwagen', 'M1', false, 1550),
            (18, 'Personenauto', 'CITROEN', 'C1', 'hatchback', 'M1', false, 840),
            (19, 'Personenauto', 'VOLKSWAGEN', 'ID.3', 'hatchback', 'M1', true, 1800),
            (20, 'Bedrijfsauto', 'VOLKSWAGEN', 'TRANSPORTER', 'gesloten opbouw', 'N1', false, 1900),
            (21, 'Bedrijfsauto', 'MERCEDES-BENZ', 'SPRINTER', 'gesloten opbouw', 'N1', false, 2300),
            (22, 'Bedrijfsauto', 'FORD', 'TRANSIT CUSTOM', 'gesloten opbouw', 'N1', false, 2000),
            (23, 'Bedrijfsauto', 'RENAULT', 'MASTER', 'open laadvloer', 'N1', false, 2100),
            (24, 'Bedrijfsauto', 'DAF', 'LF', 'gesloten opbouw', 'N2', false, 3400),
            (25, 'Motorfiets', 'YAMAHA', 'MT-07', 'N.v.t.', 'L3', false, 700),
            (26, 'Motorfiets', 'BMW', 'R 1250 GS', 'N.v.t.', 'L3', false, 700),
            (27, 'Bus', 'VDL', 'CITEA', 'N.v.t.', 'M3', true, 3500),
            (28, 'Personenauto', 'FIAT', 'DUCATO', 'kampeerwagen', 'M1', false, 3000),
            (29, 'Bromfiets', 'PIAGGIO', 'ZIP', 'N.v.t.', 'L1', false, 600)),
    fuel(f, brandstof, emissieklasse, brandstoffen) AS (VALUES
            (0, 'Benzine', 'EURO 6', '[{"brandstof_volgnummer": 1, "brandstof_omschrijving": "Benzine", "uitlaatemissieniveau": "EURO 6 AP", "co2_uitstoot_gecombineerd": 112, "brandstofverbruik_gecombineerd": 4.9}]'::jsonb),
            (1, 'Benzine', 'EURO 5', '[{"brandstof_volgnummer": 1, "brandstof_omschrijving": "Benzine", "uitlaatemissieniveau": "EURO 5", "co2_uitstoot_gecombineerd": 131, "brandstofverbruik_gecombineerd": 5.6}]'::jsonb),
            (2, 'Diesel', 'EURO 6', '[{"brandstof_volgnummer": 1, "brandstof_omschrijving": "Diesel", "uitlaatemissieniveau": "EURO 6 DG", "co2_uitstoot_gecombineerd": 126, "roetuitstoot": 0.0007}]'::jsonb),
            (3, 'Diesel', 'EURO 4', '[{"brandstof_volgnummer": 1, "brandstof_omschrijving": "Diesel", "uitlaatemissieniveau": "EURO 4", "co2_uitstoot_gecombineerd": 158, "roetuitstoot": 0.025}]'::jsonb),
            (4, 'Benzine', 'EURO 6', '[{"brandstof_volgnummer": 1, "brandstof_omschrijving": "Benzine", "uitlaatemissieniveau": "EURO 6 AP", "co2_uitstoot_gecombineerd": 29}, {"brandstof_volgnummer": 2, "brandstof_omschrijving": "Elektriciteit", "elektrisch_verbruik_enkel_elektrisch_wltp": 172, "actie_radius_enkel_elektrisch_wltp": 56}]'::jsonb),
            (5, 'LPG', 'EURO 5', '[{"brandstof_volgnummer": 1, "brandstof_omschrijving": "Benzine", "uitlaatemissieniveau": "EURO 5"}, {"brandstof_volgnummer": 2, "brandstof_omschrijving": "LPG", "co2_uitstoot_gecombineerd": 118}]'::jsonb),
            (6, 'Elektriciteit', 'N.v.t.', '[{"brandstof_volgnummer": 1, "brandstof_omschrijving": "Elektriciteit", "elektrisch_verbruik_enkel_elektrisch_wltp": 151, "actie_radius_enkel_elektrisch_wltp": 491, "nettomaximumvermogen": 208.0}]'::jsonb)),
    kleur(k, naam) AS (VALUES (0, 'GRIJS'), (1, 'ZWART'), (2, 'WIT'), (3, 'BLAUW'), (4, 'ROOD'),
                              (5, 'GROEN'), (6, 'BEIGE'), (7, 'GEEL'), (8, 'BRUIN'), (9, 'ORANJE')),
    draw AS (
        SELECT i,
               random() < 0.95 AS nl,
               random() < 0.02 AS unregistered,  -- a Dutch plate without an RDW record (misread, too new)
               floor(power(random(), 1.5) * 30)::int AS m,
               floor(random() * 6)::int AS f,
               floor(power(random(), 2) * 10)::int AS k,
               floor(random() * 5)::int AS sidecode,
               (ARRAY['DE', 'DE', 'DE', 'BE', 'BE', 'BE', 'FR', 'FR', 'PL', 'PL', 'GB', 'RO', 'BG', 'LT', 'ES', 'IT', 'UA'])
                   [1 + floor(random() * 17)::int] AS foreign_code,
               -- md5 hex digits are uniform over 16 values: map them onto the 16 letters of Dutch plates.
               translate(substr(md5(random()::text), 1, 8), '0123456789abcdef', 'BDFGHJKLNPRSTVXZ') AS l,
               lpad(floor(random() * 100000)::int::text, 5, '0') AS d,
               floor(random() * 25 * 365)::int AS age_days,
               random() AS u
        FROM generate_series(0, c_vehicles - 1) AS i
        OFFSET 0),  -- evaluate each random() once per vehicle
    -- Only registered vehicles keep their draws: every registration column below derives from
    -- these, so it is NULL for foreign and unregistered plates without a CASE in each.
    r AS (
        SELECT draw.*, reg.*
        FROM draw
        LEFT JOIN LATERAL (SELECT draw.i AS ri, draw.m AS rm, draw.f AS rf, draw.k AS rk,
                                  draw.age_days AS rage, draw.u AS ru
                           WHERE draw.nl AND NOT draw.unregistered) AS reg ON true)
    SELECT r.i AS idx,
           CASE WHEN NOT r.nl THEN CASE r.foreign_code
                    WHEN 'DE' THEN 'B-' || substr(r.l, 1, 2) || ' ' || substr(r.d, 1, 4)
                    WHEN 'BE' THEN '1-' || substr(r.l, 1, 3) || '-' || substr(r.d, 1, 3)
                    WHEN 'FR' THEN substr(r.l, 1, 2) || '-' || substr(r.d, 1, 3) || '-' || substr(r.l, 3, 2)
                    WHEN 'PL' THEN 'WX ' || substr(r.d, 1, 5)
                    ELSE substr(r.l, 1, 3) || ' ' || substr(r.d, 1, 3) END
                WHEN r.sidecode = 0 THEN substr(r.l, 1, 2) || '-' || substr(r.d, 1, 3) || '-' || substr(r.l, 3, 1)
                WHEN r.sidecode = 1 THEN substr(r.l, 1, 1) || '-' || substr(r.d, 1, 3) || '-' || substr(r.l, 2, 2)
                WHEN r.sidecode = 2 THEN substr(r.d, 1, 2) || '-' || substr(r.l, 1, 3) || '-' || substr(r.d, 3, 1)
                WHEN r.sidecode = 3 THEN substr(r.l, 1, 3) || '-' || substr(r.d, 1, 2) || '-' || substr(r.l, 4, 1)
                ELSE substr(r.l, 1, 2) || '-' || substr(r.l, 3, 2) || '-' || substr(r.d, 1, 2) END AS kenteken,
           CASE WHEN r.nl THEN 'NL' ELSE r.foreign_code END AS land_code,
           m.voertuig_soort, m.merk, m.handelsbenaming, m.inrichting,
           m.categorie AS europese_voertuigcategorie,
           CASE WHEN m.inrichting = 'kampeerwagen' THEN 'SA' END AS europese_voertuigcategorie_toevoeging,
           fu.brandstof, fu.brandstoffen, fu.emissieklasse,
           substr('ABBCCCDDEFG', 1 + r.ri % 11, 1) AS zuinigheidslabel,
           kl.naam AS eerste_kleur,
           CASE WHEN r.ri IS NOT NULL THEN 'Niet geregistreerd' END AS tweede_kleur,
           w.kg::smallint AS massa_ledig_voertuig,
           w.kg + 100 AS massa_rijklaar,
           w.kg + 400 + r.ri % 500 AS toegestane_maximum_massa_voertuig,
           (350 + r.ri % 180)::smallint AS lengte,
           (165 + r.ri % 40)::smallint AS breedte,
           CASE WHEN r.ri IS NOT NULL THEN 2 END::smallint AS aantal_assen,
           (CASE WHEN m.voertuig_soort IN ('Motorfiets', 'Bromfiets') THEN 2
                 WHEN m.voertuig_soort = 'Bedrijfsauto' THEN 3 ELSE 4 + r.ri % 4 END)::smallint AS aantal_zitplaatsen,
           CASE WHEN NOT m.elektrisch THEN 998 + (r.ri * 7) % 2000 END AS cilinderinhoud,
           round((0.05 + r.ru / 10)::numeric, 2)::double precision AS vermogen_massarijklaar,
           CASE WHEN r.rage < 15 * 365 THEN 15000 + (r.ri * 13) % 65000 END AS catalogusprijs,
           p_today - r.rage AS datum_eerste_toelating,
           p_today - r.rage + CASE WHEN r.ri % 7 = 0 THEN 400 ELSE 0 END AS datum_eerste_afgifte_nederland,
           p_today - (r.rage * r.ru)::int AS datum_tenaamstelling,
           CASE WHEN r.rage > 3 * 365 THEN p_today + r.ri % 365 END AS vervaldatum_apk,
           r.ri % 97 = 0 AS taxi_indicator,
           r.ri % 211 <> 0 AS wam_verzekerd,
           r.ri % 503 = 0 AS export_indicator,
           r.ri % 19 = 0 AS openstaande_terugroepactie_indicator,
           CASE WHEN m.voertuig_soort = 'Bromfiets' THEN true END AS maximale_constructie_snelheid_bromsnorfiets
    FROM r
    LEFT JOIN model m ON m.m = r.rm
    LEFT JOIN fuel fu ON fu.f = CASE WHEN m.elektrisch THEN 6 ELSE r.rf END
    LEFT JOIN kleur kl ON kl.k = r.rk
    -- the model's mass give or take 20 %, kept within 600..3500 kg like the reference data
    LEFT JOIN LATERAL (SELECT least(3500, greatest(600, round(m.massa * (0.8 + 0.4 * r.ru))))::int AS kg
                       WHERE m.m IS NOT NULL) AS w ON true;

    -- OCR readings: per-character confidences and the camera's own metadata, the bulk of a row.
    CREATE TEMP TABLE pgrewrite_demo_reading ON COMMIT DROP AS
    SELECT i AS idx,
           -- one confidence (per mille) per character read
           (SELECT jsonb_agg(700 + floor(random() * 300)::int) FROM generate_series(1, 6 + i % 3))
               AS kenteken_karakters_betrouwbaarheid,
           jsonb_build_object(
               'ocr_versie', '4.3.' || (i % 4),
               'beeld_referentie', 'anpr-img/' || md5(i::text) || '.jpg',
               'voertuig_snelheid_kmh', 30 + i % 70,
               'richting', CASE WHEN i % 2 = 0 THEN 'nadert' ELSE 'verwijdert' END,
               'belichting', CASE WHEN i % 3 = 0 THEN 'infrarood' ELSE 'daglicht' END,
               'kenteken_kader', jsonb_build_object('x', i * 7 % 1600, 'y', i * 13 % 900, 'breedte', 120 + i % 60, 'hoogte', 30 + i % 12),
               'verwerkingstijd_ms', 20 + i % 80,
               'land_code_betrouwbaarheid', 900 + i % 100) AS extra_data
    FROM generate_series(0, c_readings - 1) AS i;

    -- Row counts for the planner, which then hashes the pools rather than the day's rows.
    ANALYZE pg_temp.pgrewrite_demo_lane (idx);
    ANALYZE pg_temp.pgrewrite_demo_vehicle (idx);
    ANALYZE pg_temp.pgrewrite_demo_reading (idx);
    PERFORM setseed(('x' || left(md5(gen_random_uuid()::text), 8))::bit(32)::int / 2147483648.0);
    -- A uuid id (the reference table), or an integer one from the sequence of `pgrewrite demo --id integer`.
    v_id := CASE WHEN (SELECT atttypid FROM pg_attribute WHERE attrelid = format('%I.%I', p_schema, p_table)::regclass
                         AND attname = 'id') = 'uuid'::regtype
                 THEN 'gen_random_uuid()'
                 ELSE format('nextval(%L::regclass)', pg_get_serial_sequence(format('%I.%I', p_schema, p_table), 'id')) END;

    FOR v_day IN SELECT d::date FROM generate_series(p_from, p_to, interval '1 day') AS d LOOP
        v_part := p_table || '_' || to_char(v_day, 'YYYYMMDD');

        -- Straight into the partition (no routing), one INSERT ... SELECT per day. Row g gets the
        -- g-th slice of the day, so rows are stored in time order as the application writes them;
        -- least() keeps float rounding from reaching the next midnight.
        EXECUTE format($ins$
            INSERT INTO %I.%I (
                id, passage_at, created_at, passage_id, volgnummer,
                camera_id, camera_naam, camera_kijkrichting, rijstrook, straat, plaats, locatie,
                kenteken, land_code, kenteken_betrouwbaarheid, kenteken_karakters_betrouwbaarheid, automatisch_verwerkbaar,
                voertuig_soort, merk, handelsbenaming, inrichting,
                europese_voertuigcategorie, europese_voertuigcategorie_toevoeging,
                brandstof, brandstoffen, emissieklasse, zuinigheidslabel, eerste_kleur, tweede_kleur,
                massa_ledig_voertuig, massa_rijklaar, toegestane_maximum_massa_voertuig,
                lengte, breedte, aantal_assen, aantal_zitplaatsen, cilinderinhoud,
                vermogen_massarijklaar, catalogusprijs,
                datum_eerste_toelating, datum_eerste_afgifte_nederland, datum_tenaamstelling, vervaldatum_apk,
                taxi_indicator, wam_verzekerd, export_indicator, openstaande_terugroepactie_indicator,
                maximale_constructie_snelheid_bromsnorfiets, extra_data)
            SELECT %s,
                   t.passage_at,
                   t.passage_at + make_interval(secs => 1 + t.u * 20),
                   CASE WHEN t.u < 0.98 THEN gen_random_uuid() END,
                   1,
                   l.camera_id, l.camera_naam, l.camera_kijkrichting, l.rijstrook, l.straat, l.plaats, l.locatie,
                   v.kenteken, v.land_code,
                   t.betrouwbaarheid, o.kenteken_karakters_betrouwbaarheid, t.betrouwbaarheid >= 850,
                   v.voertuig_soort, v.merk, v.handelsbenaming, v.inrichting,
                   v.europese_voertuigcategorie, v.europese_voertuigcategorie_toevoeging,
                   v.brandstof, v.brandstoffen, v.emissieklasse, v.zuinigheidslabel, v.eerste_kleur, v.tweede_kleur,
                   v.massa_ledig_voertuig, v.massa_rijklaar, v.toegestane_maximum_massa_voertuig,
                   v.lengte, v.breedte, v.aantal_assen, v.aantal_zitplaatsen, v.cilinderinhoud,
                   v.vermogen_massarijklaar, v.catalogusprijs,
                   v.datum_eerste_toelating, v.datum_eerste_afgifte_nederland, v.datum_tenaamstelling, v.vervaldatum_apk,
                   v.taxi_indicator, v.wam_verzekerd, v.export_indicator, v.openstaande_terugroepactie_indicator,
                   v.maximale_constructie_snelheid_bromsnorfiets,
                   CASE WHEN t.u < 0.9 THEN o.extra_data END
            FROM (SELECT $1 + least(floor((g + random()) * (86400000000.0 / $2)), 86399999999) * interval '1 microsecond'
                             AS passage_at,
                         floor(power(random(), 3) * $3)::int AS lane,
                         floor(power(random(), 2) * $4)::int AS vehicle,
                         floor(random() * $5)::int AS reading,
                         (600 + floor(random() * 400))::smallint AS betrouwbaarheid,
                         random() AS u
                  FROM generate_series(0, $2 - 1) AS g
                  OFFSET 0) AS t  -- evaluate each random() once per row
            JOIN pg_temp.pgrewrite_demo_lane l ON l.idx = t.lane
            JOIN pg_temp.pgrewrite_demo_vehicle v ON v.idx = t.vehicle
            JOIN pg_temp.pgrewrite_demo_reading o ON o.idx = t.reading
            $ins$, p_schema, v_part, v_id)
        USING v_day::timestamp, p_rows_per_day, c_lanes, c_vehicles, c_readings;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_total := v_total + v_rows;

        -- The partition's keys as constraints, so that those declared on the parent in finish adopt
        -- them instead of building new ones (design.md §4); PostgreSQL names them as it would.
        EXECUTE format('ALTER TABLE %I.%I ADD PRIMARY KEY (id, passage_at)', p_schema, v_part);
        EXECUTE format('ALTER TABLE %I.%I ADD UNIQUE (passage_id, volgnummer, passage_at)', p_schema, v_part);
        EXECUTE format('CREATE INDEX ON %I.%I USING gist (locatie)', p_schema, v_part);

        -- Statistics for the keys and the columns the application filters and groups by; this also
        -- sets reltuples and relpages. All 49 columns take longer than the load itself (the jsonb
        -- columns most of it, design.md §4); autovacuum completes the rest.
        EXECUTE format('ANALYZE %I.%I (id, passage_at, passage_id, volgnummer, camera_id, kenteken, land_code, locatie)',
                       p_schema, v_part);
    END LOOP;
    RETURN v_total;
END
$fn$;

CREATE OR REPLACE FUNCTION pgrewrite_demo.demo_finish_passage(p_schema text, p_table text)
RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    -- Declared on the parent, these adopt each filled partition's matching index and build the
    -- (empty) ones of the days ahead. Names are left to PostgreSQL, as on the reference table:
    -- <table>_pkey, <table>_passage_id_volgnummer_passage_at_key, <table>_locatie_idx.
    EXECUTE format('ALTER TABLE %I.%I ADD PRIMARY KEY (id, passage_at)', p_schema, p_table);
    EXECUTE format('ALTER TABLE %I.%I ADD UNIQUE (passage_id, volgnummer, passage_at)', p_schema, p_table);
    EXECUTE format('CREATE INDEX ON %I.%I USING gist (locatie)', p_schema, p_table);
END
$fn$;

CREATE OR REPLACE FUNCTION pgrewrite_demo.demo_create_passage(
    p_schema text, p_table text, p_days int, p_rows_per_day int, p_today date, p_future_days int DEFAULT 5)
RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pgrewrite_demo.demo_prepare_passage(p_schema, p_table, p_days, p_today, p_future_days);
    PERFORM pgrewrite_demo.demo_fill_passage(p_schema, p_table, p_today - p_days + 1, p_today, p_rows_per_day, p_today);
    PERFORM pgrewrite_demo.demo_finish_passage(p_schema, p_table);
END
$fn$;
