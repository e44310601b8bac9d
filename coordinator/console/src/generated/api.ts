// Generated from the coordinator's OpenAPI document (coordinator/src/http/responses.ts and the
// controllers) by `npm run generate:console-api -w coordinator`. Do not edit: change the DTOs and
// regenerate; coordinator/src/http/console-api.test.ts fails while this file is out of date.
export interface paths {
    "/api/auth/sign-in": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["AuthController_signIn"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/sign-out": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["AuthController_signOut"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["AuthController_me"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["AuthController_createUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/roster": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["RosterController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/roster/classes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["RosterController_add"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/roster/classes/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch: operations["RosterController_archive"];
        trace?: never;
    };
    "/api/steps": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["FederationController_steps"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/rounds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["FederationController_rounds_"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/overview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["FederationController_overview"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["FederationController_events"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["FederationController_auditLog"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/audit/actions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["FederationController_auditActions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["FederationController_health"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sites/invitations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["InvitationsController_list"];
        put?: never;
        post: operations["InvitationsController_create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sites": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["SitesController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sites/{id}/updates": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["SitesController_updates"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sites/{id}/approve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["SitesController_approve"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sites/{id}/reject": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["SitesController_reject"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sites/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["SitesController_revoke"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ModelsController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/models/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ModelsController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/models/{id}/weights.safetensors": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ModelsController_weights"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/models/{id}/model.onnx": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ModelsController_onnx"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/models/{id}/model-card.md": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ModelsController_card"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/reports": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ReportsController_all"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/reports/steps/{step}/rounds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ReportsController_roundSeries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/reports/privacy": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ReportsController_privacySpend"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/reports/overlays/{modelVersionId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ReportsController_overlaysOf"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/reports/replay": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ReportsController_replaySteps"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/reports/report.html": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ReportsController_html"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["UsersController_list"];
        put?: never;
        post: operations["UsersController_create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/users/{username}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch: operations["UsersController_update"];
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        SignInDto: {
            username: string;
            password: string;
        };
        UserDto: {
            userId: string;
            username: string;
            /** @enum {string} */
            role: "admin" | "viewer";
        };
        SignInResponseDto: {
            /** @description the session token (also set as an HttpOnly cookie) */
            token: string;
            expiresAt: string;
            user: components["schemas"]["UserDto"];
        };
        CreateUserDto: {
            username: string;
            password: string;
            /** @enum {string} */
            role: "admin" | "viewer";
        };
        RosterClassDto: {
            /** @description the output channel (0 is background) */
            id: number;
            name: string;
            /** @example #bcbd22 */
            color: string;
            description: string;
            stepAdded: number;
            archived: boolean;
        };
        NewClassDto: {
            /**
             * @description lower-case letters, digits and _
             * @example ureter
             */
            name: string;
            /** @example #bcbd22 */
            color?: string;
            description?: string;
        };
        AddClassesDto: {
            classes: components["schemas"]["NewClassDto"][];
        };
        AddClassesResponseDto: {
            /** @description the incremental step the classes opened */
            step: number;
            classes: components["schemas"]["RosterClassDto"][];
        };
        ArchiveDto: {
            archived: boolean;
        };
        WithheldDto: {
            siteId: string;
            reason: string;
        };
        RoundDto: {
            id: string;
            step: number;
            /** @enum {string} */
            kind: "segmenter" | "generator" | "evaluate";
            index: number;
            /** @enum {string} */
            status: "collecting" | "aggregating" | "completed" | "failed";
            reason: string | null;
            baseVersionId: string | null;
            resultVersionId: string | null;
            quorum: number;
            deadlineAt: string;
            openedAt: string;
            closedAt: string | null;
            /** @description the sites invited to the round */
            sites: string[];
            accepted: string[];
            rejected: string[];
            /** @description sites that kept their update back (memorisation gate), with why */
            withheld: components["schemas"]["WithheldDto"][];
        };
        StepDto: {
            index: number;
            /** @enum {string} */
            status: "open" | "training" | "evaluating" | "completed";
            teacherVersionId: string | null;
            newClassIds: number[];
            numClasses: number;
            createdAt: string;
            completedAt: string | null;
            /** @description oldest first */
            rounds?: components["schemas"]["RoundDto"][];
        };
        StepSummaryDto: {
            index: number;
            /** @enum {string} */
            status: "open" | "training" | "evaluating" | "completed";
        };
        SiteProgressDto: {
            siteId: string;
            roundId: string;
            phase: string;
            fraction: number;
            metrics: {
                [key: string]: number;
            };
            message: string;
            at: string;
        };
        AuditEntryDto: {
            id: number;
            at: string;
            actor: string;
            action: string;
            target: string;
            details: {
                [key: string]: unknown;
            };
        };
        OverviewDto: {
            step: components["schemas"]["StepSummaryDto"] | null;
            round: components["schemas"]["RoundDto"] | null;
            progress: components["schemas"]["SiteProgressDto"][];
            events: components["schemas"]["AuditEntryDto"][];
        };
        HealthDto: {
            ok: boolean;
            /** @enum {string} */
            database: "pglite" | "postgres";
        };
        CreateInvitationDto: {
            /** @description the hospital's name, as admins will see it */
            name: string;
            /** @description hours until the token expires (1..720, default 72) */
            expiresHours?: number;
            /** @description host:port of the federation endpoint as the site reaches it */
            federationAddress?: string;
            /** @description host:port of the enrolment endpoint as the site reaches it */
            enrollAddress?: string;
        };
        InvitationBundleDto: {
            /** @enum {string} */
            format: "fedciss-invitation/1";
            siteName: string;
            invitationId: string;
            /** @description one-time enrolment token; the coordinator keeps only its hash */
            token: string;
            expiresAt: string;
            federationAddress: string;
            enrollAddress: string;
            caCertificatePem: string;
            caFingerprint256: string;
        };
        InvitationDto: {
            id: string;
            siteName: string;
            createdBy: string;
            createdAt: string;
            expiresAt: string;
            usedAt: string | null;
            siteId: string | null;
            /** @enum {string} */
            state: "open" | "used" | "expired";
        };
        SiteWithContributionDto: {
            id: string;
            displayName: string;
            /** @enum {string} */
            status: "pending" | "approved" | "rejected" | "revoked";
            alive: boolean;
            lastHeartbeatAt: string | null;
            agentState: string | null;
            capabilities: {
                [key: string]: unknown;
            };
            createdAt: string;
            acceptedUpdates: number;
            realImagesContributed: number;
            replayImagesContributed: number;
            rejectedUpdates: number;
        };
        SiteUpdateDto: {
            id: string;
            roundId: string;
            siteId: string;
            /** @enum {string} */
            status: "receiving" | "accepted" | "rejected";
            rejectionReason: string | null;
            totalBytes: number;
            receivedBytes: number;
            realImages: number;
            replayImages: number;
            metrics: {
                [key: string]: unknown;
            };
            createdAt: string;
        };
        SiteDto: {
            id: string;
            displayName: string;
            /** @enum {string} */
            status: "pending" | "approved" | "rejected" | "revoked";
            alive: boolean;
            lastHeartbeatAt: string | null;
            agentState: string | null;
            capabilities: {
                [key: string]: unknown;
            };
            createdAt: string;
        };
        ModelVersionDto: {
            id: string;
            /** @enum {string} */
            kind: "segmenter" | "generator";
            sha256: string;
            sizeBytes: number;
            parentId: string | null;
            stepIndex: number;
            roundId: string | null;
            numClasses: number;
            config: {
                [key: string]: unknown;
            };
            note: string;
            createdAt: string;
        };
        ReportClassDto: {
            id: number;
            name: string;
            color: string;
            stepAdded: number;
        };
        MiouDto: {
            old: number | null;
            new: number | null;
            all: number | null;
        };
        SiteBreakdownDto: {
            siteId: string;
            images: number;
            /** @description class id → IoU (null: neither present nor predicted) */
            perClassIoU: {
                [key: string]: number | null;
            };
            mIoU: components["schemas"]["MiouDto"];
        };
        CrossSiteCellDto: {
            modelSite: string;
            modelVersionId: string;
            evaluatedAt: string;
            images: number;
            mIoU: components["schemas"]["MiouDto"];
        };
        StepReportDto: {
            step: number;
            modelVersionId: string;
            /** @description every class the step's model predicts */
            classes: components["schemas"]["ReportClassDto"][];
            images: number;
            /** @description class id → IoU (null: neither present nor predicted) */
            perClassIoU: {
                [key: string]: number | null;
            };
            mIoU: components["schemas"]["MiouDto"];
            /** @description best earlier IoU minus this step's (positive = forgotten); null without history */
            forgetting: {
                [key: string]: number | null;
            };
            perSite: components["schemas"]["SiteBreakdownDto"][];
            /** @description present when the step ran a cross-site evaluation */
            crossSite?: components["schemas"]["CrossSiteCellDto"][];
        };
        ReportsDto: {
            steps: components["schemas"]["StepReportDto"][];
        };
        RoundPointDto: {
            /** @description the segmenter round's index within the step */
            round: number;
            roundId: string;
            /** @description the round's aggregate, the version the sites evaluated */
            modelVersionId: string;
            images: number;
            /** @description sites that reported an evaluation */
            sites: number;
            mIoU: components["schemas"]["MiouDto"];
            /** @description class id → IoU (null: neither present nor predicted) */
            perClassIoU: {
                [key: string]: number | null;
            };
        };
        RoundSeriesDto: {
            step: number;
            /** @description evaluated segmenter rounds in order (every round with the training setting evaluateEveryRound, else the step's last) */
            points: components["schemas"]["RoundPointDto"][];
        };
        PrivacyBudgetDto: {
            segmenter: number | null;
            generator: number | null;
        };
        AdaptiveClippingDto: {
            targetQuantile: number;
            learningRate: number;
            countNoiseStddev: number;
        };
        DifferentialPrivacyDto: {
            clipNorm: number;
            noiseMultiplier: number;
            /** @enum {string} */
            noise: "site" | "aggregate";
            delta: number;
            budget: components["schemas"]["PrivacyBudgetDto"];
            adaptiveClipping?: components["schemas"]["AdaptiveClippingDto"] | null;
        };
        SecureAggregationDto: {
            threshold: number;
            neighbours: number;
            clipNorm: number;
            sampleWeightCap: number;
        };
        SiteSpendDto: {
            siteId: string;
            /** @enum {string} */
            kind: "segmenter" | "generator";
            rounds: number;
            epsilon: number;
            delta: number;
            budget: number | null;
        };
        NoiseSplitDto: {
            updateNoiseMultiplier: number;
            countNoiseStddev: number;
        };
        ClipRoundDto: {
            roundId: string;
            step: number;
            /** @enum {string} */
            kind: "segmenter" | "generator";
            index: number;
            status: string;
            clipNorm: number;
            sites: number | null;
            unclippedFraction: number | null;
            nextClipNorm: number | null;
        };
        PrivacyViewDto: {
            differentialPrivacy: components["schemas"]["DifferentialPrivacyDto"] | null;
            secureAggregation: components["schemas"]["SecureAggregationDto"] | null;
            participationRate: number;
            spend: components["schemas"]["SiteSpendDto"][];
            noiseSplit: components["schemas"]["NoiseSplitDto"] | null;
            clipping: components["schemas"]["ClipRoundDto"][];
        };
        OverlayDto: {
            /** @description base64 PNG of a generated image */
            imagePng: string;
            /** @description base64 PNG of the prediction drawn over it */
            overlayPng: string;
        };
        SiteFidelityDto: {
            siteId: string;
            fidelity: number;
            teacherMiou: number;
            studentMiou: number;
            skipped: boolean;
            /** @description fidelity of the same student taught on the untrained generator's noise (the floor); null: not measured */
            noiseFidelity: number | null;
            foregroundFidelity: number | null;
            noiseForegroundFidelity: number | null;
            /** @description replay is used only when fidelity > noiseFidelity + margin */
            margin: number | null;
            /** @description wall seconds the noise student cost the site */
            noiseSeconds: number | null;
            /** @description share of the step's own image pixels the teacher's pseudo-labels give to old classes; null: not measured */
            oldClassShare: number | null;
            /**
             * @description why the site did not replay; null: it replayed
             * @enum {string|null}
             */
            skipReason: "low-fidelity" | "old-classes-shown" | null;
        };
        WithheldGeneratorDto: {
            siteId: string;
            roundId: string;
            /** @description why the site kept its generator back (the memorisation gate's figures) */
            reason: string;
        };
        ReplayStepDto: {
            step: number;
            fidelity: number | null;
            /** @description mean over sites of the noise floor of fidelity */
            noiseFidelity: number | null;
            fidelityBySite: components["schemas"]["SiteFidelityDto"][];
            skippedSites: string[];
            realism: number | null;
            privacyFlagged: number;
            generatorSteps: number;
            /** @description the step's generator rounds that failed */
            generatorRoundsFailed: number;
            withheldGenerators: components["schemas"]["WithheldGeneratorDto"][];
            /** @description why the step went on without its planned generator rounds (failed too often, or the privacy budget); null: it did not */
            generatorGivenUp: string | null;
        };
        ReplayReportDto: {
            steps: components["schemas"]["ReplayStepDto"][];
        };
        UserRowDto: {
            username: string;
            /** @enum {string} */
            role: "admin" | "viewer";
            disabled: boolean;
            createdAt: string;
        };
        UpdateUserDto: {
            /** @enum {string} */
            role?: "admin" | "viewer";
            disabled?: boolean;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    AuthController_signIn: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SignInDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignInResponseDto"];
                };
            };
        };
    };
    AuthController_signOut: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    AuthController_me: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the signed-in user */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserDto"];
                };
            };
        };
    };
    AuthController_createUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateUserDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserDto"];
                };
            };
        };
    };
    RosterController_list: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RosterClassDto"][];
                };
            };
        };
    };
    RosterController_add: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AddClassesDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AddClassesResponseDto"];
                };
            };
        };
    };
    RosterController_archive: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ArchiveDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RosterClassDto"];
                };
            };
        };
    };
    FederationController_steps: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description every step, oldest first, with its rounds */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StepDto"][];
                };
            };
        };
    };
    FederationController_rounds_: {
        parameters: {
            query: {
                step: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description newest first, at most 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoundDto"][];
                };
            };
        };
    };
    FederationController_overview: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OverviewDto"];
                };
            };
        };
    };
    FederationController_events: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    FederationController_auditLog: {
        parameters: {
            query: {
                limit: string;
                actor: string;
                action: string;
                from: string;
                to: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditEntryDto"][];
                };
            };
        };
    };
    FederationController_auditActions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description every action the audit log holds */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": string[];
                };
            };
        };
    };
    FederationController_health: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthDto"];
                };
            };
        };
    };
    InvitationsController_list: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvitationDto"][];
                };
            };
        };
    };
    InvitationsController_create: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateInvitationDto"];
            };
        };
        responses: {
            /** @description the bundle file to hand to the site */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvitationBundleDto"];
                };
            };
        };
    };
    SitesController_list: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SiteWithContributionDto"][];
                };
            };
        };
    };
    SitesController_updates: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description newest first, at most 200 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SiteUpdateDto"][];
                };
            };
        };
    };
    SitesController_approve: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SiteDto"];
                };
            };
        };
    };
    SitesController_reject: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SiteDto"];
                };
            };
        };
    };
    SitesController_revoke: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SiteDto"];
                };
            };
        };
    };
    ModelsController_list: {
        parameters: {
            query: {
                kind: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description newest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelVersionDto"][];
                };
            };
        };
    };
    ModelsController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelVersionDto"];
                };
            };
        };
    };
    ModelsController_weights: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the version's weights in the safetensors format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    ModelsController_onnx: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the segmenter as a self-contained ONNX inference model (weights, classes, input normalisation and lineage inside); ?opset=11..21, default the smallest that expresses it */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    ModelsController_card: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the Markdown model card of the exported segmenter: the same facts as the metadata inside model.onnx */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    ReportsController_all: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReportsDto"];
                };
            };
        };
    };
    ReportsController_roundSeries: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                step: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoundSeriesDto"];
                };
            };
        };
    };
    ReportsController_privacySpend: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PrivacyViewDto"];
                };
            };
        };
    };
    ReportsController_overlaysOf: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                modelVersionId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OverlayDto"][];
                };
            };
        };
    };
    ReportsController_replaySteps: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReplayReportDto"];
                };
            };
        };
    };
    ReportsController_html: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    UsersController_list: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserRowDto"][];
                };
            };
        };
    };
    UsersController_create: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateUserDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserRowDto"];
                };
            };
        };
    };
    UsersController_update: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                username: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateUserDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserRowDto"];
                };
            };
        };
    };
}
