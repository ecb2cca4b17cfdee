;; Store and read a drawing-wide setting in a named dictionary.
(defun mysettings-dict (/ d)
  (if (setq d (dictsearch (namedobjdict) "MYSETTINGS"))
    (cdr (assoc -1 d))
    (dictadd (namedobjdict) "MYSETTINGS"
             (entmakex '((0 . "DICTIONARY") (100 . "AcDbDictionary"))))
  )
)
(defun c:SHOWDICT (/ dict)
  (setq dict (mysettings-dict))
  (princ (strcat "\nSettings dictionary: " (vl-princ-to-string dict)))
  (princ)
)
