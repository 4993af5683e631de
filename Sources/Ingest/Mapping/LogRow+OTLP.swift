import OTLP
import Store

extension ExportLogsServiceRequest {
    /// The rows this request writes. `arrivalUnixNano` stamps records that carry no time.
    public func writeBatch(arrivalUnixNano: Int64) -> WriteBatch {
        var batch = WriteBatch()
        batch.logs.reserveCapacity(logRecordCount)
        for resourceLogs in resourceLogs {
            var resourceJSON = JSONWriter()
            resourceJSON.otlp(resourceLogs.resource, schemaUrl: resourceLogs.schemaUrl)
            let resourceText = resourceJSON.text
            let serviceName = AttributeSources.serviceName(of: resourceLogs.resource)
            for scopeLogs in resourceLogs.scopeLogs {
                var scopeJSON = JSONWriter()
                scopeJSON.otlp(scopeLogs.scope, schemaUrl: scopeLogs.schemaUrl)
                let scopeText = scopeJSON.text
                for record in scopeLogs.logRecords {
                    batch.logs.append(LogRow(
                        record: record, scope: scopeLogs.scope, serviceName: serviceName,
                        resourceJSON: resourceText, scopeJSON: scopeText, arrivalUnixNano: arrivalUnixNano))
                }
            }
        }
        return batch
    }
}

extension LogRow {
    init(record: LogRecord, scope: InstrumentationScope, serviceName: String,
         resourceJSON: String, scopeJSON: String, arrivalUnixNano: Int64) {
        let attributes = record.attributes
        var lifted: [String: LogAttributeColumn] = [:]
        func lift(_ keys: [String], into column: LogAttributeColumn) -> String? {
            guard let found = AttributeSources.first(keys, in: attributes) else { return nil }
            lifted[found.key] = column
            return found.value
        }
        let loggerName: String
        if !scope.name.isEmpty {
            loggerName = scope.name
        } else if let name = lift(["logger.name"], into: .loggerName) {
            loggerName = name
        } else {
            loggerName = serviceName
        }
        let userEmail = lift(AttributeSources.user, into: .userEmail)
        let department = lift(AttributeSources.department, into: .department)
        let sessionID = lift(AttributeSources.session, into: .sessionID)
        let endpoint = lift(AttributeSources.endpoint, into: .endpoint)
        let exceptionType = lift(["exception.type"], into: .exceptionType)
        let exceptionMessage = lift(["exception.message"], into: .exceptionMessage)
        let exceptionTraceback = lift(["exception.stacktrace"], into: .exceptionTraceback)

        var extra = JSONWriter()
        extra.flat(attributes, skipping: Set(lifted.keys))
        var typedAttributes = JSONWriter()
        typedAttributes.otlp(attributes)
        let bodyJSON: String? = record.body.map {
            var writer = JSONWriter()
            writer.otlp($0)
            return writer.text
        }

        let time = Int64(clamping: record.timeUnixNano)
        let observed = Int64(clamping: record.observedTimeUnixNano)
        self.init(
            timestampUnixNano: time != 0 ? time : observed != 0 ? observed : arrivalUnixNano,
            timeUnixNano: time,
            observedTimeUnixNano: observed,
            level: LogLevel.name(severityNumber: record.severityNumber.rawValue, severityText: record.severityText),
            loggerName: loggerName,
            message: LogRow.message(of: record.body),
            traceID: record.traceId?.hex,
            spanID: record.spanId?.hex,
            userEmail: userEmail,
            department: department,
            sessionID: sessionID,
            endpoint: endpoint,
            extra: extra.text,
            exceptionType: exceptionType,
            exceptionMessage: exceptionMessage,
            exceptionTraceback: exceptionTraceback,
            severityNumber: record.severityNumber.rawValue,
            severityText: record.severityText.isEmpty ? nil : record.severityText,
            body: bodyJSON,
            attributes: typedAttributes.text,
            resource: resourceJSON,
            scope: scopeJSON,
            flags: Int64(record.flags),
            eventName: record.eventName.isEmpty ? nil : record.eventName,
            droppedAttributesCount: Int64(record.droppedAttributesCount),
            serviceName: serviceName,
            attributesInExtra: LogAttributesInExtra(attributes, lifted: lifted)
        )
    }

    /// The body as text: a string body as is, any other body as plain JSON, none as "".
    static func message(of body: AnyValue?) -> String {
        switch body {
        case nil, .empty?: return ""
        case .string(let text)?: return text
        case let value?:
            var writer = JSONWriter()
            writer.flat(value)
            return writer.text
        }
    }
}

/// The seed's five levels from OTLP severity.
public enum LogLevel {
    /// 1–8 DEBUG, 9–12 INFO, 13–16 WARNING, 17–20 ERROR, 21–24 CRITICAL; when the number is
    /// unset (or out of range), from the severity text; else INFO.
    public static func name(severityNumber: Int32, severityText: String) -> String {
        switch severityNumber {
        case 1...8: return "DEBUG"
        case 9...12: return "INFO"
        case 13...16: return "WARNING"
        case 17...20: return "ERROR"
        case 21...24: return "CRITICAL"
        default:
            switch severityText.lowercased() {
            case "trace", "debug": return "DEBUG"
            case "info", "information": return "INFO"
            case "warn", "warning": return "WARNING"
            case "error": return "ERROR"
            case "fatal", "critical": return "CRITICAL"
            default: return "INFO"
            }
        }
    }
}

extension LogAttributesInExtra {
    /// How `attributes`, written typed, follow from `extra` (`JSONWriter.flat` of those not in
    /// `lifted`) and the columns `lifted` names; nil when something would not read back: what
    /// `AttributesInTags` refuses for `extra`'s members, or a lifted value that is not a string,
    /// holds NUL (the stores replace it) or whose key the column does not list.
    init?(_ attributes: [KeyValue], lifted: [String: LogAttributeColumn]) {
        guard AttributesInTags.unique(attributes) else { return nil }
        var nestedInOrder = true
        var sources: [Source] = []
        sources.reserveCapacity(attributes.count)
        var extraKeys: [String] = []
        for attribute in attributes {
            if let column = lifted[attribute.key] {
                guard case .string(let text) = attribute.value, !text.utf8.contains(0),
                      let key = column.keys.firstIndex(of: attribute.key) else { return nil }
                sources.append(.column(column, key: key))
            } else {
                guard AttributesInTags.survives(attribute.value, nestedInOrder: &nestedInOrder) else { return nil }
                sources.append(.extra(extraKeys.count))
                extraKeys.append(attribute.key)
            }
        }
        self.init(sources: sources, extraJSONBPositions: AttributesInTags.jsonbPositions(of: extraKeys),
                  nestedOrderSurvivesJSONB: nestedInOrder)
    }
}
