;; expect: misspelled-builtin
(defun c:PT (/ p)
  (setq p (getpiont "\nPoint: "))
  (command "_.POINT" p)
  (princ)
)
